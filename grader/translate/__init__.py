"""The Chinese edition (中文版): one source of truth, translations that cannot drift.

Instructor- and build-side (never in the student kit).  Map:

* :mod:`grader.translate.blocks`     split a MyST page or Markdown cell into blocks, hash each one;
  what must survive translation in a block (math, roles, labels, links);
* :mod:`grader.translate.catalogue`  the translation files under ``zh/`` (one per page or
  exercise, keyed by each English block's hash): read, write, ``sync``, staleness;
* :mod:`grader.translate.pages`      the Chinese book's sources, generated at build time from the
  English pages (executed notebooks included) and the catalogues;
* :mod:`grader.translate.exercises`  the Chinese exercise notebooks (``zh/exercises/``),
  generated from the English release: code cells, grade ids and points untouched;
* :mod:`grader.translate.strings`    the student-facing strings of the test cells (names, hints,
  classic mistakes) that :mod:`grader.i18n` translates at run time;
* :mod:`grader.translate.outputs`    what code writes (the tables its cells print; figure text):
  ``zh/outputs.yml``, phrase by phrase, numbers untouched (``translate_phrase``);
* :mod:`grader.translate.figures`    figure text in the reader's language (SVG text);
* :mod:`grader.translate.parity`     the checks CI runs on both built editions.

The runtime side that students get is :mod:`grader.i18n` and its catalogue ``grader/i18n_zh.py``.
"""
