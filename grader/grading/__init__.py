"""Instructor-side grading, one module per responsibility, in the order a batch uses them:

``intake``      read a submission folder without following links, within limits; stage it
``sandbox``     the bubblewrap command a student's kernel runs in (only the student kit inside;
                ``kernel_view``: what a kernel may see of the installed Python, for every
                kind of sandbox; ``seccomp``: the seccomp filters, one source for both modes);
                ``container``: the same kernel where bubblewrap cannot run (a fresh uid per
                kernel; ``container_launch`` drops to it, ``container_uids`` cleans up after it)
``executor``    nbgrader's Execute step replaced: the kernel runs the student's cells and the
                visible tests; crashes, time and output limits (``kernel``: the sandboxed
                kernel's start, readiness and stop; ``job``: one submission's grading)
``verdicts``    hidden tests, run by the grader (``hidden_process``: each in a bounded process
                of its own; ``remote``/``wire``: calls into the kernel with plain data;
                ``kernel_side``: what answers them in the kernel)
``gradebook``   the lock, WAL mode and shared engine around nbgrader's gradebook
``autograde``   the batch: canary, intake, nbgrader's pipeline N at a time, the table
                (``batch``: the worker side and its retries; ``results``: the table;
                ``inflight``: who is being graded, who a killed batch left; ``scratch``: the
                grader's own folders and free disk space)
``misconceptions`` why a failed question failed (a mistake a test names, or what was seen);
``insight``     the sidecar beside the fingerprint: those records, behaviour digests on
                class-common inputs, regrades and the ``never_lower`` policy
``similarity``  which submissions to look at side by side (rare shared code, the same wrong
                answers, the course's own code); ``classreport``: the instructor's page
``feedback``, ``report``, ``late``, ``lms``: what students and instructors get afterwards;
``gradescope``, ``gradescope_zip``: the same pipeline as a Gradescope autograder;
``selfcheck`` and ``bundle``: the students' side.
"""
