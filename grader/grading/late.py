"""The course's late policy, as an nbgrader late-submission plugin.

nbgrader's ``AssignLatePenalties`` step (part of every autograde) asks the plugin named in
``nbgrader_config.py`` (``AssignLatePenalties.plugin_class``) for a penalty whenever a
submission's ``timestamp.txt`` is after the assignment's due date (plus any extension), and
stores it in the gradebook as the notebook's ``late_submission_penalty``.  nbgrader itself
ships only ``none`` and ``zero``; this course uses :class:`HourlyPenalty`:

* a grace period (15 minutes by default) for clocks and slow uploads: no penalty;
* after it, ``percent_per_hour`` of the *earned* score per started hour late (1 % by default),
  so that a late blank notebook loses nothing and a late correct one loses in proportion;
* at most ``max_percent`` (50 % by default): late work is always worth handing in.

Every number is a config option (``c.HourlyPenalty.percent_per_hour = 2``, ...).  The
reports (``python -m grader report``) and the LMS exports show the time late, the penalty
and the final score (score minus penalty) read back from the gradebook.
"""
from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class HourlyPenalty(LateSubmissionPlugin):
    """A percentage of the earned score per started hour late, after a grace period, capped."""

    grace_minutes = Float(15.0, help="minutes after the due date that cost nothing").tag(config=True)
    percent_per_hour = Float(1.0, help="percent of the earned score lost per started hour "
                             "late (after the grace period)").tag(config=True)
    max_percent = Float(50.0, help="the penalty never exceeds this percent of the earned "
                        "score").tag(config=True)

    def fraction(self, seconds_late: float) -> float:
        """The share of the earned score lost by a submission ``seconds_late`` late (0..1)."""
        if seconds_late <= 60 * self.grace_minutes:
            return 0.0
        hours = math.ceil(seconds_late / 3600.0)
        return min(hours * self.percent_per_hour, self.max_percent) / 100.0

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        penalty = round(float(score or 0.0) * self.fraction(total_seconds_late), 4)
        self.log.info("%s: %.0f s late, penalty %g of %g (course policy: %g %% per started "
                      "hour after %g min, at most %g %%)", student_id, total_seconds_late,
                      penalty, score or 0.0, self.percent_per_hour, self.grace_minutes,
                      self.max_percent)
        return penalty
