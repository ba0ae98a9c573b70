"""nbgrader configuration: maps nbgrader's folders onto the course's.

solutions/<assignment>/   nbgrader's "source" step (instructor notebooks: solutions, hidden tests)
exercises/<assignment>/   nbgrader's "release" step (student notebooks, generated)
submitted/, autograded/, feedback/, gradebook.db   nbgrader's defaults, git-ignored
"""
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "rnns-from-scratch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# nbgrader's defaults, and the grader's regrade fingerprint and verdicts (autograded/<s>/<a>/), which
# generate_feedback would otherwise copy into every student's feedback folder
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            ".grader-fingerprint.json", ".grader-verdicts.json"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Student code runs only in the sandbox, and hidden tests only in the grader's process:
# nbgrader's Execute step is replaced by the course's (grader/grading/executor.py), so that
# plain `nbgrader autograde` and the formgrader's autograde button are as safe as
# `python -m grader autograde` (without bubblewrap they refuse to run).
c.Autograde.autograde_preprocessors = [
    "grader.grading.executor.TrustedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# A notebook that loops forever must not hold the batch: each cell gets this long.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True

# The exercises promise that deleted test cells are restored before grading; nbgrader's
# default (False) would instead let a student drop a test cell and lose nothing.
c.OverwriteCells.add_missing_cells = True

# Late work: a submission whose timestamp.txt is after the due date (`python -m grader register
# NAME --duedate=...`, plus any extension) loses 1 % of its earned score per started hour
# late, after 15 minutes of grace, and at most 50 %: late work is still worth handing in, and
# a few hours cost a few points (grader/grading/late.py; nbgrader stores the penalty in the
# gradebook, and the reports and LMS exports show time late, penalty and final score).
c.AssignLatePenalties.plugin_class = "grader.grading.late.HourlyPenalty"
c.HourlyPenalty.grace_minutes = 15
c.HourlyPenalty.percent_per_hour = 1
c.HourlyPenalty.max_percent = 50

# Feedback: plain `nbgrader generate_feedback` (and the formgrader's button) run the same
# preprocessors as `python -m grader feedback`: hidden tests cleared, tracebacks reduced to
# their last line, everything the submission displays made inert (grader/grading/feedback.py),
# and the same template (a pinned, hash-checked MathJax). Only `python -m grader feedback`
# also audits each page and withholds one that would leak.
from grader.grading import feedback as _feedback  # noqa: E402

c.GenerateFeedback.preprocessors = list(_feedback.PREPROCESSORS)
c.GenerateFeedback.exporter_class = _feedback.EXPORTER
c.HTMLExporter.template_name = _feedback.TEMPLATE_NAME
c.HTMLExporter.extra_template_basedirs = _feedback.template_basedirs()

# Regrades (a changed hidden test or points, registered again; grader/grading/insight.py):
# `python -m grader autograde` writes autograded/<assignment>-regrade-report.md with every
# score a regrade changed and why. With never_lower, a regrade never lowers a question's
# score of a submission that did not change (the reports and LMS exports say so).
c.Regrade.never_lower = False
