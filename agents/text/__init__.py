"""Chinese clinical-note text processing for the lexical verifier: offsets are always into the note."""

from agents.text.document import Clause, Document, Sentence, analyse

__all__ = ["Clause", "Document", "Sentence", "analyse"]
