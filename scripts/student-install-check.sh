#!/usr/bin/env bash
# The student install on another Python: a fresh venv, `pip install .` as a regular wheel
# (no extras: no nbgrader, JupyterLab or Dask), then the tests of what students import,
# run from a folder outside the checkout so that they use the installed package.
#   scripts/student-install-check.sh 3.12      (python3.12 on PATH, or pyenv's 3.12.x)
#   scripts/student-install-check.sh /path/to/python
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
trap 'rm -rf "$WORK" "$REPO/build"' EXIT  # build/: setuptools' leftovers from pip install .
VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "student install on Python $VERSION"
started=$(date +%s)
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$REPO" "pytest>=8,<10" "hypothesis>=6.100,<7"
for heavy in nbgrader jupyterlab distributed; do
    if "$WORK/venv/bin/python" -c "import $heavy" 2>/dev/null; then
        echo "the student install brought the instructor package $heavy" >&2
        exit 1
    fi
done
echo "  installed in $(( $(date +%s) - started )) s, $(du -sm "$WORK/venv" | cut -f1) MB"
mkdir "$WORK/tests"
cp "$REPO"/tests/conftest.py "$REPO"/tests/test_{metrics,checks,loaders,submission,public_api}.py \
    "$WORK/tests/"
cd "$WORK"
MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=3 "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider \
    -W ignore::DeprecationWarning -c /dev/null --rootdir "$WORK" "$WORK/tests"
"$WORK/venv/bin/python" - <<'PY'
import time
started = time.perf_counter()
from utilities import *  # noqa: F403
print(f"  from utilities import *: {time.perf_counter() - started:.1f} s")
PY
