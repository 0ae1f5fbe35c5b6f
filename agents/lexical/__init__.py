"""The lexical engine in one package: Chinese clinical-note text analysis (sections, sentences, clauses,
negation/uncertainty scope, numbers and durations), the lexicon model (data in ``knowledge_base/lexicons``)
and the lexical fact verifier. Offsets are always into the note."""

from agents.lexical.document import Clause, Document, Sentence, analyse

__all__ = ["Clause", "Document", "Sentence", "analyse"]
