"""Real data sets used by the book (downloaded on demand, verified by SHA-256)."""
from grader.data.ptb import PTB, PTBChecksumError, PTBNotFoundError, find_ptb, load_ptb

__all__ = ["PTB", "PTBChecksumError", "PTBNotFoundError", "find_ptb", "load_ptb"]
