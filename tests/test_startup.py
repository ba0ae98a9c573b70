"""Every grader and nbgrader command imports nbformat; what that drags in is paid by each
process (a batch, a Dask worker, every test that runs a command)."""
import subprocess
import sys

# Modules that do seconds of work at import: jsonschema>=4.25 imports rfc3987_syntax, which
# compiles 38 lark grammars (3.5 s of CPU) -- requirements.lock pins jsonschema below it.
SLOW_AT_IMPORT = ("rfc3987_syntax", "lark")


def test_nbformat_and_nbgrader_import_nothing_slow():
    code = ("import sys, nbformat, nbgrader.apps, grader.grading.autograde\n"
            f"print(sorted(set(sys.modules) & set({SLOW_AT_IMPORT!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", (
        f"importing nbformat/nbgrader loads {out.stdout.strip()}: see requirements.lock's jsonschema pin")
