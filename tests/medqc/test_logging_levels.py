"""The configured level holds for every logger: a library that turns its own logger to DEBUG on import
(bm25s does) does not bring its debug records into MedQC's log."""

from __future__ import annotations

import logging

import pytest

from medqc.observability import configure_logging


def test_a_library_debug_logger_stays_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO")
        noisy = logging.getLogger("bm25s")
        noisy.setLevel(logging.DEBUG)  # what `import bm25s` does
        noisy.debug("Building index from tokens")
        logging.getLogger("medqc.test").info("kept")
        err = capsys.readouterr().err
        assert "kept" in err
        assert "Building index" not in err
    finally:
        root.handlers, root.level = saved
