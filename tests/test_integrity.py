"""No code in the student's kernel can change a verdict or see a hidden test.

Tests run in the grader's checker, a kernel where no student code runs; the
student's kernel only answers questions with data (utilities.evidence). Each
notebook here is hostile in its own way: it rewrites how IPython turns cells
into code, replaces the checks, patches builtins or the kernel, traces and
skips lines, or forges the answers themselves. In every case a test gets the
verdict its own source deserves. These were the earlier waves of attacks on
the in-kernel guard; they must still earn nothing. The kernels run in the
real sandbox.
"""

from __future__ import annotations

import nbformat
import pytest
from notebook_runner import errors, run, text

from autograder.grading.checker.plan import (
    CellNeeds,
    NotebookPlan,
    broken_dependencies,
    plan_notebook,
)
from autograder.grading.sandbox import SandboxLimits

pytestmark = pytest.mark.integration  # kernels, sandboxes or processes

SETUP = "import numpy as np\nfrom utilities.checks import fail, grading_rng\n"
# The student's answer() is wrong (41); the test needs 42. A second test needs nothing.
WRONG_ANSWER = "def answer():\n    return 41"
FAILING_TEST = (
    "# Test: must fail\nvalue = answer()\nif value != 42:\n    fail(f'expected 42, got {value}')"
)
PASSING_TEST = "# Test: must pass\nassert 6 * 7 == 42"
LIMITS = SandboxLimits(cell_timeout=60)


def judged(tmp_path, *sources, grade, reads: dict, solutions=(), stubs=None, depends=None):
    """Run ``sources``; test cell ``i`` (in ``grade``) reads ``reads[i]`` from the kernel."""
    tests = {
        f"t{index}": CellNeeds(
            reads=tuple(reads.get(index, ())), depends_on=tuple((depends or {}).get(index, ()))
        )
        for index in grade
    }
    plan = NotebookPlan(setup_imports=SETUP, tests=tests, stubs=stubs or {})
    return run(tmp_path, *sources, grade=grade, solutions=solutions, plan=plan, limits=LIMITS)


HOOKS = {
    "an input transformer that blanks tests": (
        "def _blank(lines):\n"
        "    return ['pass\\n'] if lines and lines[0].startswith('# Test') else lines\n"
        "get_ipython().input_transformers_cleanup.append(_blank)"
    ),
    "a post transformer, spelled with getattr": (
        "_name = 'input_transformers' + '_post'\n"
        "getattr(get_ipython(), _name).append(lambda lines: ['pass\\n'])"
    ),
    "the transformer manager's line transforms": (
        "get_ipython().input_transformer_manager.line_transforms.append(lambda lines: ['pass\\n'])"
    ),
    "an AST transformer that drops every statement": (
        "import ast\n"
        "class _Drop(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        node.body = [ast.Pass()]\n"
        "        return node\n"
        "get_ipython().ast_transformers.append(_Drop())"
    ),
    "transform_cell replaced on the shell's class": (
        "type(get_ipython()).transform_cell = lambda self, cell: 'pass\\n'"
    ),
    "the check replaced through sys.modules, spelled with strings": (
        "import sys\n_mod = sys.modules['utilities.' + '_labels']\n"
        "setattr(_mod, 'as_class_' + 'indices', lambda labels, **kw: np.array([3, 2]))"
    ),
    "the check replaced through an import alias": (
        "import utilities.labels as _lab\n_lab.as_class_indices = lambda *a, **k: np.array([3, 2])"
    ),
    "the check's code swapped in place": (
        "import utilities.labels as _lab\n"
        "_lab.as_class_indices.__code__ = (lambda labels, *, name='labels': "
        "__import__('numpy').array([3, 2])).__code__"
    ),
    "a numpy function the test uses, replaced": (
        "import numpy\nnumpy.array = lambda *a, **k: [3, 2]"
    ),
    "a fake module planted in sys.modules": (
        "import sys, types\n_fake = types.ModuleType('utilities.labels')\n"
        "_fake.as_class_indices = lambda labels, **kw: np.array([3, 2])\n"
        "sys.modules['utilities.labels'] = _fake"
    ),
    "a fake utilities package written to the working folder": (
        "import os, sys\nos.makedirs('utilities', exist_ok=True)\n"
        "open('utilities/__init__.py', 'w').write('')\n"
        "open('utilities/_labels.py', 'w').write('import numpy\\n'\n"
        "    'def as_class_indices(labels, **kw):\\n    return numpy.array([3, 2])\\n')\n"
        "for _name in [n for n in sys.modules if n.startswith('utilities')]:\n"
        "    del sys.modules[_name]\n"
        "sys.path.insert(0, os.getcwd())"
    ),
    "builtins.__import__ that serves a fake module": (
        "import builtins, types\n_real_import = builtins.__import__\n"
        "def _import(name, *args, **kwargs):\n"
        "    module = _real_import(name, *args, **kwargs)\n"
        "    if 'labels' in name:\n"
        "        fake = lambda labels, **kw: np.array([3, 2])\n"
        "        module = types.SimpleNamespace(as_class_indices=fake)\n"
        "    return module\n"
        "builtins.__import__ = _import"
    ),
    "a meta path finder defined in the notebook": (
        "import sys\n"
        "class _Finder:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Finder())\n"
        "for _name in [n for n in sys.modules if n.startswith('utilities._')]:\n"
        "    del sys.modules[_name]"
    ),
    "AssertionError rebound in builtins": (
        "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})"
    ),
    "a trace function that jumps over the failing line": (
        "import linecache, sys\n"
        "def _jump(frame, event, arg):\n"
        "    name = frame.f_code.co_filename\n"
        "    ours = name.startswith('<') or 'ipykernel_' in name\n"
        "    if ours and event == 'line' and 'raise' in linecache.getline(name, frame.f_lineno):\n"
        "        try:\n"
        "            frame.f_lineno += 1\n"
        "        except ValueError:\n"
        "            pass\n"
        "    return _jump\n"
        "sys.settrace(_jump)"
    ),
}


def test_no_hook_in_the_students_kernel_changes_a_verdict(tmp_path):
    """One kernel, every hook in turn: each is installed, then a failing and a passing test run."""
    names = sorted(HOOKS)
    sources = [WRONG_ANSWER]
    for name in names:
        sources += [HOOKS[name], FAILING_TEST, PASSING_TEST]
    tests = {index for index in range(1, len(sources)) if (index - 1) % 3}
    failing = {index for index in tests if (index - 1) % 3 == 1}
    cells, _ = judged(
        tmp_path, *sources, grade=tests, reads={index: ("answer",) for index in failing}
    )
    for number, name in enumerate(names):
        fails, passes = cells[3 * number + 2], cells[3 * number + 3]
        assert errors(fails), (name, text(fails))
        assert errors(passes) == [], (name, text(passes))


def test_the_checks_patched_inside_the_students_function_do_not_reach_the_checker(tmp_path):
    cells, _ = judged(
        tmp_path,
        "import utilities.checks\n"
        "def answer():\n"
        "    utilities.checks.fail = lambda message: None\n"
        "    import builtins\n    builtins.AssertionError = type('Quiet', (Exception,), {})\n"
        "    return 41",
        FAILING_TEST,
        "# Test\nfail('still fails')",
        grade=(1, 2),
        reads={1: ("answer",)},
    )
    assert "expected 42, got 41" in text(cells[1])
    assert errors(cells[2]) == ["AssertionError"]


def test_a_forged_answer_does_not_pass_a_test_on_inputs_the_notebook_cannot_know(tmp_path):
    forge = (
        "import builtins, json\n"
        "def _forged(question):\n"
        "    return json.dumps({'ok': True, 'protocol': 1,\n"
        "                       'value': {'kind': 'scalar', 'value': 42}})\n"
        "builtins.__coursekit_answer__ = _forged\n"
        "def double(x):\n    return 2 * x"
    )
    test = (
        "# Test\nx = int(grading_rng().integers(1000, 10**6))\n"
        "if double(x) != 2 * x:\n    fail(f'double({x}) gave {double(x)}')"
    )
    cells, _ = judged(tmp_path, forge, test, grade=(1,), reads={1: ("double",)})
    assert errors(cells[1]), text(cells[1])


def test_a_kernel_that_forges_its_replies_gets_no_points(tmp_path):
    forge = (
        "_kernel = get_ipython().kernel\n"
        "async def _ok(code, silent, store_history=True, user_expressions=None, **kw):\n"
        "    answers = {name: {'status': 'ok', 'data': {'text/plain': repr('{\"ok\": true}')}}\n"
        "               for name in (user_expressions or {})}\n"
        "    return {'status': 'ok', 'execution_count': 1, 'payload': [],\n"
        "            'user_expressions': answers}\n"
        "_kernel.do_execute = _ok"
    )
    cells, _ = judged(
        tmp_path, WRONG_ANSWER, forge, FAILING_TEST, grade=(2,), reads={2: ("answer",)}
    )
    assert errors(cells[2]), text(cells[2])


HIDDEN_MARKER = "coursekit-hidden-marker-7f3a"
HIDDEN_TEST = (
    "# Test, hidden part\n### BEGIN HIDDEN TESTS\n"
    f"assert '{HIDDEN_MARKER}' != answer()\n### END HIDDEN TESTS"
)
SPY = (
    "import sys, gc, linecache\n_seen = []\n"
    "sys.addaudithook(lambda event, args: _seen.append(repr(args)[:100000]))\n"
    "def answer():\n    return 41\n"
)
REPORT = (
    "import gc, linecache\n"
    "found = any('{m}' in text for text in _seen)\n"
    "found |= any('{m}' in ''.join(lines[2]) for lines in linecache.cache.values()\n"
    "             if isinstance(lines, tuple) and len(lines) > 2)\n"
    "found |= any(isinstance(o, str) and '{m}' in o for o in gc.get_objects())\n"
    "print('LEAKED' if found else 'NOT SEEN')"
).format(m=HIDDEN_MARKER[:10] + "' + '" + HIDDEN_MARKER[10:])


def test_the_source_of_a_hidden_test_never_reaches_the_students_kernel(tmp_path):
    # REPORT is a solution cell before a later test, so grading runs it after the hidden test
    cells, _ = judged(
        tmp_path,
        SPY,
        HIDDEN_TEST,
        REPORT,
        "assert True",
        grade=(1, 3),
        solutions=(0, 2),
        reads={1: ("answer",)},
    )
    assert errors(cells[1]) == [], text(cells[1])  # the test ran, in the checker
    assert text(cells[2]).strip() == "NOT SEEN"


def test_an_honest_notebook_is_graded_without_a_note(tmp_path):
    cells, events = judged(
        tmp_path,
        "import numpy as np\nimport threading\nfrom tqdm.auto import tqdm\n"
        "for _ in tqdm(range(3)):\n    pass\n"
        "threading.Thread(target=print, args=('hello',)).start()\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()",
        "def square(x):\n    return x * x",
        "# Test\nif square(3) != 9:\n    fail('square')",
        "# Test\nassert square(2) == 4",
        grade=(2, 3),
        solutions=(0, 1),  # threads, progress bars and plots in the student's own code
        reads={2: ("square",), 3: ("square",)},
    )
    assert errors(cells[2]) == [] and errors(cells[3]) == []
    assert events == []


def test_a_stub_left_as_released_scores_zero_even_when_the_code_is_elsewhere(tmp_path):
    stub = "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    cells, events = judged(
        tmp_path,
        stub,
        "def square(x):\n    return x * x",
        "# Test\nassert square(3) == 9",
        grade=(2,),
        solutions=(0,),
        reads={2: ("square",)},
        stubs={"s0": stub},
        depends={2: ("s0",)},
    )
    assert errors(cells[2]) == ["DependencyNotMet"]
    assert "still the released stub" in text(cells[2])
    assert [e["kind"] for e in events] == ["dependency_not_met"]


def test_a_solution_that_raised_scores_zero_on_its_tests(tmp_path):
    cells, _ = judged(
        tmp_path,
        "value = 42\nraise NotImplementedError()",
        "# Test\nassert value == 42",
        grade=(1,),
        solutions=(0,),
        reads={1: ("value",)},
        depends={1: ("s0",)},
    )
    assert errors(cells[1]) == ["DependencyNotMet"]
    assert "raised an error" in text(cells[1])


def test_the_assignment_plan_ties_each_test_to_the_solutions_and_names_it_needs():
    from autograder.course.folder import DEFAULT_COURSE_ROOT

    source = DEFAULT_COURSE_ROOT / "source" / "cnn"
    part1 = plan_notebook(nbformat.read(source / "1_lenet5_mnist.ipynb", 4))
    assert part1.test("test_lenet5_layers").depends_on == ("lenet5",)
    assert part1.test("test_f1_hidden").depends_on[-1] == "macro_f1"
    assert part1.test("test_compile").depends_on[-3:] == ("lenet5", "macro_f1", "compile")
    # The student writes the training run and the submission: their tests depend on them.
    assert part1.test("test_training_hidden").depends_on[-1] == "training"
    assert set(part1.test("test_training_hidden").reads) == {"history", "lenet5", "macro_f1"}
    # The raw data a test compares with is the checker's own copy, never the kernel's.
    assert "mnist" not in part1.test("test_preprocessing").reads
    assert any("load_mnist" in cell for cell in part1.trusted_cells)
    assert "import numpy as np" in part1.setup_imports
    part2 = plan_notebook(nbformat.read(source / "2_fashion_cnn.ipynb", 4))
    assert part2.test("test_fashion_model").depends_on == ("fashion_model",)
    assert set(part2.test("test_submission_hidden").depends_on) == {
        "fashion_data",
        "fashion_model",
        "submission",
    }
    assert part2.test("test_submission").files == ("submission.csv",)
    assert "fashion" not in part2.test("test_fashion_data").reads


def test_broken_dependencies_names_each_reason():
    plan = NotebookPlan(
        tests={"t": CellNeeds(depends_on=("a", "b", "c", "d"))}, stubs={"a": "raise X()"}
    )
    sources = {"a": "raise X()\n", "b": "ok", "c": "ok"}
    reasons = broken_dependencies("t", plan, sources, failed={"b"}, ran={"a", "b", "c"})
    assert reasons == [
        "your solution cell a is still the released stub",
        "your solution cell b raised an error",
        "your solution cell d did not run",
    ]
    assert (
        broken_dependencies("t", plan, {**sources, "a": "x = 1", "d": "y"}, set(), set("abcd"))
        == []
    )
    assert not broken_dependencies("other", plan, sources, set(), set())


def test_a_test_that_reads_a_file_depends_on_the_solution_cells_that_name_it():
    notebook = nbformat.v4.new_notebook()
    cells = [
        ("model = 1", {"solution": True, "grade_id": "model"}),
        ('save(model, "answer.csv")', {"solution": True, "grade_id": "writer"}),
        ('check("answer.csv")', {"grade": True, "grade_id": "test_file", "points": 1}),
        ("check(model)", {"grade": True, "grade_id": "test_model", "points": 1}),
    ]
    for source, meta in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"solution": False, "grade": False, **meta}
        notebook.cells.append(cell)
    plan = plan_notebook(notebook)
    # An old answer.csv left in the folder cannot earn the points while the writer is a stub.
    assert plan.test("test_file").depends_on == ("model", "writer")
    # save() is not known to leave its arguments alone, so it may change model: when in
    # doubt, a cell counts.
    assert plan.test("test_model").depends_on == ("model", "writer")
