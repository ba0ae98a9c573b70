"""Seconds per submission, container mode against bubblewrap, on the same class (JSON lines).

    RNNS_TEST_AUTOGRADER_CACHE=DIR python tests/bench_container_mode.py [N] [REPEAT]

Both modes run the grader installed as a container installs it (``tests/container_env.py``:
the Gradescope zip's setup.sh, cached in DIR), ``python -m grader autograde --jobs 2`` on
fresh copies of one course holding N chapter-1 submissions (complete, partly wrong, blank in
turn; ``grader.bench.autograde``'s mix), in a private mount namespace; bubblewrap keeps
CAP_SYS_ADMIN, the container mode runs without it, as in Docker.  The modes alternate REPEAT
times; medians are printed with the load average beside them.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import container_env  # noqa: E402

A = "01_rnn_by_hand"


def main(n: int = 12, repeat: int = 2) -> None:
    from grader.bench.autograde import _submissions
    from grader.course import make_course

    installed = container_env.cached_install(Path(os.environ["RNNS_TEST_AUTOGRADER_CACHE"]))
    with tempfile.TemporaryDirectory(prefix="rnns-bench-container-") as tmp:
        pristine = make_course(Path(tmp) / "pristine", [A])
        _submissions(pristine, A, n)
        seconds: dict[str, list[float]] = {"bwrap": [], "container": []}
        scores: dict[str, dict] = {}
        for r in range(repeat):
            for mode in ("bwrap", "container") if r % 2 == 0 else ("container", "bwrap"):
                course = Path(shutil.copytree(pristine.root, Path(tmp) / f"{mode}{r}"))
                summary = course / "summary.json"
                t0 = time.monotonic()
                proc = subprocess.run(container_env.container_command(
                    [installed["python"], "-I", "-m", "grader", "autograde", A, "--course",
                     str(course), "--jobs", "2", "--sandbox", mode, "--no-progress",
                     "--summary", str(summary)], autograder=Path(installed["root"]),
                    keep_sys_admin=mode == "bwrap"), capture_output=True, text=True, cwd=course)
                seconds[mode].append(time.monotonic() - t0)
                if proc.returncode != 0:
                    sys.exit(f"{mode}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
                scores[mode] = {s["student"]: s["score"]
                                for s in json.loads(summary.read_text())["students"]}
        med = {m: statistics.median(v) for m, v in seconds.items()}
        print(json.dumps({"bench": "container-mode", "assignment": A, "n": n, "jobs": 2,
                          "repeat": repeat, "seconds": seconds,
                          "seconds_per_submission": {m: round(v / n, 2) for m, v in med.items()},
                          "ratio_container_vs_bwrap": round(med["container"] / med["bwrap"], 2),
                          "scores_identical": scores["bwrap"] == scores["container"],
                          "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
