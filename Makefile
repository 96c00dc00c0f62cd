# The kit's two entry points (see README):
#   make demo   run the main job end to end on built-in defaults
#   make test   lint, then run the test suite
# Both create the virtual environment in .venv when it is missing.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# The kit downloads from the official URLs. A checkout that sits next to the
# course's read-only dataset mirror (../shared/data) uses it first.
COURSEKIT_DATA_MIRROR ?= $(abspath $(wildcard ../shared/data))
export COURSEKIT_DATA_MIRROR
COURSEKIT_COURSE_DATA ?= data/course
export COURSEKIT_COURSE_DATA
# nbgrader calls `alembic` from the venv, so its bin must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test test-unit test-fast test-backends test-student-installs lint book bench bench-grading venv clean system-packages-demo system-packages-test

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@bash scripts/system-packages.sh build
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

# Debian packages (bubblewrap, npm; for the tests also chromium and poppler-utils),
# installed with apt-get when missing: see scripts/system-packages.sh.
system-packages-demo:
	@bash scripts/system-packages.sh demo

system-packages-test:
	@bash scripts/system-packages.sh test

DEMO ?= demo
# The demo leaderboard's rounds are 2026-11-10 to 2026-11-12; it closes after them.
DEMO_DEADLINE ?= 2026-11-13T00:00

demo: venv system-packages-demo
	$(BIN)/coursekit data fetch
	$(BIN)/coursekit data build --out "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/coursekit release cnn --course-data "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/coursekit demo-class --out "$(DEMO)" --course-data "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/coursekit leaderboard cnn --teams "$(DEMO)/teams.csv" --submissions "$(DEMO)/leaderboard" --replay --deadline $(DEMO_DEADLINE) --course-data "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/coursekit leaderboard cnn --deadline $(DEMO_DEADLINE) --course-data "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/coursekit grades late cnn --due $(DEMO_DEADLINE) --extensions "$(DEMO)/extensions.csv"
	$(BIN)/coursekit grade cnn --submissions "$(DEMO)/submitted" --course-data "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/coursekit report cnn
	$(BIN)/coursekit similarity cnn
	$(BIN)/coursekit book --course-data "$(COURSEKIT_COURSE_DATA)"
	@echo
	@echo "Demo finished."
	@echo "  $(COURSEKIT_COURSE_DATA)/public/           what students get (Fashion_MNIST.h5)"
	@echo "  $(COURSEKIT_COURSE_DATA)/private/          answer key, manifest, baseline: instructors only"
	@echo "  assignments/release/cnn/          the student release of the assignment"
	@echo "  assignments/grading/cnn/          grades_lms.csv, grades.csv, records/ and logs/"
	@echo "  assignments/feedback/STUDENT/cnn/ feedback HTML for each student"
	@echo "  assignments/leaderboard/cnn/      leaderboard.csv, leaderboard.md and history.csv"
	@echo "  assignments/grading/cnn/report/   class_report.html and similarity.html (+ CSV): teaching team only"
	@echo "  book/_build/html/index.html       the course website (open it in a browser)"

# The course website alone (needs `coursekit data fetch`; the leaderboard page
# shows a placeholder until `coursekit leaderboard` has run).
book: venv
	$(BIN)/coursekit data fetch
	$(BIN)/coursekit book --course-data "$(COURSEKIT_COURSE_DATA)"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole suite, on TEST_WORKERS processes (pytest-xdist), one test module per process at a
# time. Most tests wait on subprocesses (nbgrader, kernels, sandboxes, a browser) more than
# they compute, so three processes keep two cores busy. It includes the student install on
# Python 3.12 and 3.13 and the metrics on Keras's JAX backend (tests/test_other_installs.py).
# Modules are handed out longest first, in tests/conftest.py's order (xdist would otherwise
# start with the modules that have the most tests, and leave the few long ones for the end).
TEST_WORKERS ?= 3
test: lint system-packages-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The metrics, checks and plots students use, on another Keras backend (the rest of the suite
# runs on TensorFlow, the grader's default). `make test` runs this on JAX too. For PyTorch,
# install torch into the venv (or a folder on PYTHONPATH) and run `make test-backends BACKEND=torch`.
BACKEND ?= jax
BACKEND_TESTS ?= tests/test_metrics.py tests/test_checks.py tests/test_plots.py
test-backends:
	KERAS_BACKEND=$(BACKEND) $(BIN)/python -m pytest -q -p no:cacheprovider -p no:xdist $(BACKEND_TESTS)

# The student install (`pip install .`, no extras) on the other supported Pythons, with the
# tests of what students import (scripts/student-install-check.sh). `make test` runs this too.
test-student-installs:
	bash scripts/student-install-check.sh 3.12
	bash scripts/student-install-check.sh 3.13

# The fast tier: unit and sandbox tests, no training and no whole-class grading
# (a few minutes); `make test` runs it and the end-to-end tier (marked slow).
# The unit tier: no kernel, sandbox, browser or process (conftest.py fails a test that starts
# one), under a minute on 2 cores; run it after every change.
test-unit: venv
	COURSEKIT_TEST_UNIT=1 $(BIN)/python -m pytest -q -n 2 -m "not slow and not integration"

test-fast: lint system-packages-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not slow"

# Benchmarks (35–50 minutes on 2 cores): everything lands in bench/results.json
# and bench/results.md. `python bench/time_to_accuracy.py --variant all` adds the
# exploration (one row per variant; about 2 hours).
bench: venv
	$(BIN)/coursekit data fetch
	$(BIN)/coursekit data build --out "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/python bench/data_timings.py --runs 3
	$(BIN)/python bench/batch_f1_gap.py
	$(BIN)/python bench/reference_models.py --mode fast --runs 3
	$(BIN)/python bench/reference_models.py --mode full
	$(BIN)/python bench/time_to_accuracy.py --variant reference --runs 3

bench-grading: venv
	$(BIN)/coursekit data fetch
	$(BIN)/coursekit data build --out "$(COURSEKIT_COURSE_DATA)"
	$(BIN)/python bench/grade_speed.py

# Leaves data/ alone: data/course/private holds the answer key.
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache book/_build book/_generated book/cnn test-artifacts
