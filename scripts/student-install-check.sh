#!/usr/bin/env bash
# The student install on another Python: a venv with `pip install .` as a regular wheel
# (no extras: no nbgrader, JupyterLab or Dask), then the tests of what students import,
# run from a folder outside the checkout so that they use the installed package.
#   scripts/student-install-check.sh 3.12      (python3.12 on PATH, or pyenv's 3.12.x)
#   scripts/student-install-check.sh /path/to/python
#
# Installing TensorFlow into a fresh venv takes minutes, so the venv is kept in
# ${COURSEKIT_STUDENT_VENVS:-~/.cache/coursekit/student-venvs}, one per Python and per set
# of dependencies (a hash of pyproject.toml's requires-python and dependencies, what this
# install asks for; the extras do not count): as long as neither changes,
# a later run reinstalls only the kit itself (`pip install --no-deps .`). The first run on a
# machine, or COURSEKIT_FRESH_STUDENT_VENV=1, builds it from nothing.
set -euo pipefail
WANTED=${1:?usage: $0 VERSION-or-PYTHON}
if [ -x "$WANTED" ]; then
    PYTHON=$WANTED
else
    PYTHON=$(command -v "python$WANTED" || true)
    if [ -n "$PYTHON" ] && ! "$PYTHON" --version >/dev/null 2>&1; then
        PYTHON=""  # a pyenv shim for a version that is not selected
    fi
    if [ -z "$PYTHON" ]; then
        PYTHON=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$WANTED".*/bin/python 2>/dev/null \
            | sort -V | tail -n 1 || true)
    fi
    if [ -z "$PYTHON" ]; then
        echo "SKIPPED: the student install on Python $WANTED (no python$WANTED on PATH and none" \
            "in pyenv; install one with your package manager or \`pyenv install $WANTED\`)"
        exit 0
    fi
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
# The tests read MNIST and Fashion-MNIST from the mirror next to the checkout, as in make test.
if [ -z "${COURSEKIT_DATA_MIRROR:-}" ] && [ -d "$REPO/../shared/data" ]; then
    COURSEKIT_DATA_MIRROR=$(cd "$REPO/../shared/data" && pwd)
fi
export COURSEKIT_DATA_MIRROR
WORK=$(mktemp -d "${TMPDIR:-/tmp}/coursekit-student-XXXXXX")
# The checkout is copied so that pip's build (build/, *.egg-info) never writes into it, and
# two of these checks can run at once.
SOURCE="$WORK/source"
mkdir "$SOURCE"
cp -r "$REPO"/pyproject.toml "$REPO"/README.md "$REPO"/utilities "$REPO"/autograder "$SOURCE"/
trap 'rm -rf "$WORK"' EXIT
VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "student install on Python $VERSION"
started=$(date +%s)
DEPENDENCIES=$("$PYTHON" - "$REPO/pyproject.toml" <<'PY'
import hashlib, json, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
wanted = [project["requires-python"], project["dependencies"]]
print(hashlib.sha256(json.dumps(wanted).encode()).hexdigest()[:16])
PY
)
VENVS=${COURSEKIT_STUDENT_VENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/coursekit/student-venvs}
VENV="$VENVS/python$VERSION-$DEPENDENCIES"
if [ "${COURSEKIT_FRESH_STUDENT_VENV:-0}" = 1 ] || ! "$VENV/bin/python" -m pip --version \
        >/dev/null 2>&1 || [ ! -f "$VENV/.complete" ]; then
    rm -rf "$VENV"
    mkdir -p "$VENVS"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet "$SOURCE" "pytest>=8,<10" "hypothesis>=6.100,<7"
    touch "$VENV/.complete"
    how="a fresh venv"
else
    "$VENV/bin/python" -m pip install --quiet --no-deps --force-reinstall "$SOURCE"
    how="the kept venv (same Python, same dependencies), the kit reinstalled"
fi
for heavy in nbgrader jupyterlab distributed; do
    if "$VENV/bin/python" -c "import $heavy" 2>/dev/null; then
        echo "the student install brought the instructor package $heavy" >&2
        exit 1
    fi
done
echo "  installed into $how in $(( $(date +%s) - started )) s, $(du -sm "$VENV" | cut -f1) MB"
mkdir "$WORK/tests"
cp "$REPO"/tests/conftest.py "$REPO"/tests/test_{metrics,checks,loaders,submission,public_api}.py \
    "$WORK/tests/"
cd "$WORK"
MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    -W ignore::DeprecationWarning -c /dev/null --rootdir "$WORK" "$WORK/tests"
"$VENV/bin/python" - <<'PY'
import time
started = time.perf_counter()
from utilities import *  # noqa: F403
print(f"  from utilities import *: {time.perf_counter() - started:.1f} s")
PY
