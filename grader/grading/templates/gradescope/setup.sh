#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (written by
# `python -m grader gradescope`; see grader/grading/gradescope.py).  It installs Python
# 3.11.5-3.13 if the image has none, a virtual environment with the course's pinned grading
# requirements and the grader, makes the grader and the autograder's files unreadable to
# other users (students' kernels run as other uids), then grades the instructor's notebook
# once as a self-test: the build fails unless it earns full marks.
#
# Overrides for a local try: RNNS_AUTOGRADER_ROOT (default /autograder), RNNS_GRADER_HOME
# (default $RNNS_AUTOGRADER_ROOT/rnns-grader), RNNS_PYTHON (the interpreter to use); pip
# reads its usual PIP_* variables (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX).
set -euo pipefail
umask 022
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${RNNS_AUTOGRADER_ROOT:-/autograder}"
HOME_DIR="${RNNS_GRADER_HOME:-$ROOT/rnns-grader}"

find_python() {
    local p
    for p in ${RNNS_PYTHON:-} python3.13 python3.12 python3.11 python3; do
        command -v "$p" >/dev/null 2>&1 || continue
        if "$p" -c 'import sys, venv, ensurepip
sys.exit(not ((3, 11, 5) <= sys.version_info[:3] < (3, 14)))' 2>/dev/null; then
            command -v "$p"
            return 0
        fi
    done
    return 1
}

if ! PYTHON="$(find_python)"; then
    # Ubuntu 24.04 has 3.12; 22.04's own 3.11 is older than the pinned packages need
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y python3.12 python3.12-venv; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y software-properties-common
            add-apt-repository -y ppa:deadsnakes/ppa
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y python3.11 python3.11-venv
        fi
    fi
    PYTHON="$(find_python)" || { echo "setup.sh: no Python 3.11.5-3.13 with venv here" >&2; exit 1; }
fi
echo "setup.sh: $("$PYTHON" --version) at $PYTHON"

"$PYTHON" -m venv "$HOME_DIR/venv"
VENV_PYTHON="$HOME_DIR/venv/bin/python"
# exactly the pinned packages (--no-deps: nothing unpinned comes in; pip check: none is
# missing), then the grader (its own requirements name the whole course's, the book's too)
"$VENV_PYTHON" -m pip install --no-input --disable-pip-version-check --quiet --no-deps \
    -r "$SOURCE/requirements.txt"
"$VENV_PYTHON" -m pip check
"$VENV_PYTHON" -m pip install --no-input --disable-pip-version-check --quiet --no-deps \
    "$SOURCE"/wheels/*.whl

# Students' kernels run as other uids: they may read the venv (Python, NumPy, ipykernel),
# never the grader package (reference implementations, grading code) or the autograder's files.
GRADER_DIR="$("$VENV_PYTHON" -I -c 'import grader, os; print(os.path.dirname(grader.__file__))')"
chmod -R go-rwx "$GRADER_DIR"
chmod 700 "$SOURCE"

"$VENV_PYTHON" -I -m grader.grading.gradescope setup --root "$ROOT"
