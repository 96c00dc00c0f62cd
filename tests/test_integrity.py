"""A test's points count only if the test ran as written.

Each notebook here is hostile in its own way: it rewrites how IPython turns
cells into code, replaces the checks, patches builtins or the kernel, traces
and skips lines, or tampers from inside a function the test calls. In every
case the test must get the verdict its own source deserves, and the notebook
must be flagged (``tampering`` events, which hold its points for a TA).
Honest notebooks must not be flagged. The kernels run in the real sandbox.
"""

from __future__ import annotations

import nbformat
from notebook_runner import errors, run, text

from autograder.grading.checker.plan import NotebookPlan, broken_dependencies, plan_notebook
from autograder.grading.sandbox import SandboxLimits

# utilities.labels stands for the checks here: it is protected the same way
# (every ``utilities`` module is), and it loads without TensorFlow.
LIGHT = NotebookPlan(setup_imports="import numpy as np\nimport utilities.labels\n")
FAILING_TEST = (
    "# Test: must fail\nfrom utilities.labels import as_class_indices\n"
    "if as_class_indices(np.array([3, 1])).tolist() != [3, 2]:\n"
    "    raise AssertionError('the answer is wrong')\n"
    "print('checked')"
)
PASSING_TEST = "# Test: must pass\nassert 6 * 7 == 42"
LIMITS = SandboxLimits(cell_timeout=60)


def guarded(tmp_path, *sources, grade, solutions=(), plan=LIGHT):
    return run(tmp_path, *sources, grade=grade, solutions=solutions, plan=plan, limits=LIMITS)


def tampering(events) -> str:
    return " | ".join(e["detail"] for e in events if e["kind"] == "tampering")


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


def test_each_hook_installed_before_a_test_is_undone_and_flagged(tmp_path):
    """One kernel, every hook in turn: each is installed, then a failing and a passing test run.

    The guard puts everything back before each test, so every hook meets a
    clean interpreter of its own, as it would in a notebook of its own.
    """
    names = sorted(HOOKS)
    sources = []
    for name in names:
        sources += [HOOKS[name], FAILING_TEST, PASSING_TEST]
    tests = {index for index in range(len(sources)) if index % 3}
    cells, events = guarded(tmp_path, *sources, grade=tests)
    flagged = {event["cell"] for event in events if event["kind"] == "tampering"}
    for number, name in enumerate(names):
        failing, passing = cells[3 * number + 1], cells[3 * number + 2]
        assert errors(failing) == ["AssertionError"], (name, text(failing))
        assert "the answer is wrong" in text(failing), name
        assert errors(passing) == [], (name, text(passing))
        assert 3 * number + 1 in flagged, (name, events)


def test_a_student_function_that_patches_the_checks_while_the_test_runs_scores_zero(tmp_path):
    """The real checks module, patched from inside the function the test calls."""
    cells, events = guarded(
        tmp_path,
        "import utilities.checks\n"
        "def answer():\n"
        "    utilities.checks.fail = lambda message: None\n"
        "    return 41",
        "# Test\nfrom utilities import checks\n"
        "value = answer()\nif value != 42:\n    checks.fail(f'expected 42, got {value}')",
        "# Test\nfrom utilities.checks import fail\nfail('still fails')",
        grade=(1, 2),
        solutions=(0,),
        plan=NotebookPlan(setup_imports="import utilities.checks\n"),
    )
    assert errors(cells[1]) == ["TamperingDetected"]
    assert "utilities.checks.fail" in tampering(events) and "while the test ran" in tampering(
        events
    )
    assert errors(cells[2]) == ["AssertionError"]  # the patch did not outlive the test


def test_a_patched_kernel_that_forges_replies_gets_no_points(tmp_path):
    forge = (
        "_kernel = get_ipython().kernel\n"
        "_real = _kernel.do_execute\n"
        "async def _ok(code, silent, store_history=True, user_expressions=None, **kw):\n"
        "    return {'status': 'ok', 'execution_count': 1, 'payload': [],\n"
        "            'user_expressions': {'coursekit': {'status': 'ok', 'data': \n"
        '            {\'text/plain\': repr(\'{"status": "passed", "signature": "0"}\')}}}}\n'
        "_kernel.do_execute = _ok"
    )
    cells, events = guarded(tmp_path, forge, FAILING_TEST, grade=(1,))
    assert errors(cells[1]), text(cells[1])
    assert tampering(events)


def test_a_thread_that_keeps_reinstalling_a_hook_is_flagged(tmp_path):
    cells, events = guarded(
        tmp_path,
        "import threading, time\n"
        "def _again():\n"
        "    while True:\n"
        "        get_ipython().ast_transformers[:] = []\n"
        "        time.sleep(0.001)\n"
        "threading.Thread(target=_again, daemon=True, name='sneaky').start()",
        FAILING_TEST,
        grade=(1,),
    )
    assert errors(cells[1]) == ["AssertionError"]
    assert "thread sneaky" in tampering(events)


def test_tests_see_the_real_numpy_and_the_student_keeps_their_own_names(tmp_path):
    cells, events = guarded(
        tmp_path,
        "class _Yes:\n    def __getattr__(self, name):\n        return lambda *a, **k: True\n"
        "np = _Yes()",
        "# Test\nfrom utilities.checks import fail\n"
        "if np.array_equal([1], [2]):\n    fail('numpy says [1] == [2]')",
        "print(type(np).__name__)",
        grade=(1,),
    )
    assert errors(cells[1]) == []
    assert text(cells[2]).strip() == "_Yes"  # the student's binding is back after the test
    assert tampering(events) == ""  # rebinding one's own name is not tampering


def test_an_honest_notebook_is_not_flagged(tmp_path):
    cells, events = guarded(
        tmp_path,
        "import numpy as np\nimport threading\nfrom tqdm.auto import tqdm\n"
        "for _ in tqdm(range(3)):\n    pass\n"
        "threading.Thread(target=print, args=('hello',)).start()\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()",
        "def square(x):\n    return x * x",
        "# Test\nfrom utilities.checks import fail\nif square(3) != 9:\n    fail('square')",
        "# Test\nassert square(2) == 4",
        grade=(2, 3),
        solutions=(1,),
    )
    assert errors(cells[2]) == [] and errors(cells[3]) == []
    assert events == []


def test_a_stub_left_as_released_scores_zero_even_when_the_code_is_elsewhere(tmp_path):
    stub = "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    plan = NotebookPlan(
        setup_imports=LIGHT.setup_imports, depends_on={"t2": ["s0"]}, stubs={"s0": stub}
    )
    cells, events = guarded(
        tmp_path,
        stub,
        "def square(x):\n    return x * x",
        "# Test\nassert square(3) == 9",
        grade=(2,),
        solutions=(0,),
        plan=plan,
    )
    assert errors(cells[2]) == ["DependencyNotMet"]
    assert "still the released stub" in text(cells[2])
    assert [e["kind"] for e in events] == ["dependency_not_met"]


def test_a_solution_that_raised_scores_zero_on_its_tests(tmp_path):
    plan = NotebookPlan(setup_imports="", depends_on={"t1": ["s0"]}, stubs={})
    cells, _ = guarded(
        tmp_path,
        "value = 42\nraise NotImplementedError()",
        "# Test\nassert value == 42",
        grade=(1,),
        solutions=(0,),
        plan=plan,
    )
    assert errors(cells[1]) == ["DependencyNotMet"]
    assert "raised an error" in text(cells[1])


def test_the_assignment_plan_ties_each_test_to_the_solutions_it_needs():
    from autograder.course.folder import DEFAULT_COURSE_ROOT

    source = DEFAULT_COURSE_ROOT / "source" / "cnn"
    part1 = plan_notebook(nbformat.read(source / "1_lenet5_mnist.ipynb", 4))
    assert part1.depends_on["test_lenet5_layers"] == ["lenet5"]
    assert part1.depends_on["test_f1_hidden"] == ["macro_f1"]
    assert part1.depends_on["test_compile"] == ["lenet5", "macro_f1", "compile"]
    # The student writes the training run and the submission: their tests depend on them.
    assert part1.depends_on["test_training_hidden"][-1] == "training"
    assert "import numpy as np" in part1.setup_imports
    assert "import utilities.checks" in part1.setup_imports
    part2 = plan_notebook(nbformat.read(source / "2_fashion_cnn.ipynb", 4))
    assert part2.depends_on["test_fashion_model"] == ["fashion_model"]
    assert set(part2.depends_on["test_submission_hidden"]) == {
        "fashion_data",
        "fashion_model",
        "submission",
    }
    assert "submission" in part2.depends_on["test_submission"]


def test_broken_dependencies_names_each_reason():
    plan = NotebookPlan(depends_on={"t": ["a", "b", "c", "d"]}, stubs={"a": "raise X()"})
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
    assert plan.depends_on["test_file"] == ["model", "writer"]
    assert plan.depends_on["test_model"] == ["model"]
