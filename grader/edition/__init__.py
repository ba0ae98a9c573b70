"""The student edition: what students get, generated from the instructor's repository.

The instructor's repository holds the answer key (``solutions/``, ``grader/reference/``) and
can stay private; students work from a second, public repository that
``python -m grader publish student OUT`` writes and nothing else edits.  Modules:

* ``config``     where the student edition lives: ``student_edition`` in ``_config.yml``, the
                 one place its address is written (launch buttons, the kit's install
                 command, the exercises' set-up cells and the READMEs all read it);
* ``manifest``   what the edition holds, declared as data (parts, each a function of the
                 instructor's tree): the released exercises, the kit, Binder's files, a
                 README, a licence;
* ``ways_in``    the one description of how students start (``book/ways_in.md``), rendered
                 for the site, the student README and the instructor README;
* ``audit``      the checks a tree must pass before anyone gets it: only allowed paths, no
                 piece of the answer key in any form (``grader.leaks``), Binder's files
                 resolve, every module a notebook imports is in the kit;
* ``publish``    writing the audited tree to a folder, or as the student bundle's zip.

Nothing here strips solutions: nbgrader's release (``grader.release``) does, once; the
edition takes its output as it is and audits it.
"""
