"""RNNs from Scratch: reference implementations, notebook test helpers and the grading CLI.

Sub-packages and modules:

* ``grader.reference``  reference implementations, one module per chapter (instructor-only).
* ``grader.checks``     assertion helpers used by the notebooks' test cells (shipped to students).
* ``grader.gradcheck``  the centred-difference gradient checker (shipped to students).
* ``grader.cli``        the ``python -m grader`` commands, registered in ``grader/cli/__init__.py``.
"""

__version__ = "0.1.0"
