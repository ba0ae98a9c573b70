"""Instructor-side grading: parallel sandboxed autograding (``sandbox``, ``autograde``) and the
self-check, feedback and class reports built on nbgrader's gradebook."""
