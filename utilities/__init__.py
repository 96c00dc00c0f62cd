"""Student utilities for the CNN course assignment.

``from utilities import *`` gives the names in ``__all__``:

Loaders
    :func:`load_mnist`, :func:`load_fashion_mnist`, ``MNIST_CLASSES``,
    ``FASHION_MNIST_CLASSES``
Metrics
    :class:`MacroF1Score` (use this), :func:`batch_f1` (teaching example),
    :func:`classification_report_table`
Plots
    :func:`plot_training_history`, :func:`plot_confusion_matrix`,
    :func:`plot_error_matrix`, :func:`plot_sample_images`,
    :func:`plot_class_distribution`, :func:`plot_misclassified`,
    :func:`plot_filters`, :func:`plot_feature_maps` (what a CNN's first layer learned)
Submission
    :func:`make_submission`, :func:`validate_submission`
Experiments
    :func:`compare_models`: a controlled comparison of models over several seeds
Hand-in
    :func:`check_and_pack`: check notebooks and ``submission.csv``, export
    PDFs and pack everything into one zip
Fast mode
    :func:`fast_mode`, :func:`fast_subset`: the short training run used when
    a notebook is graded
Errors
    :class:`CourseKitError` and its subclasses :class:`DatasetError`,
    :class:`DownloadError`, :class:`SubmissionError`
"""

import importlib
import sys as _sys

# The Pythons the kit supports, oldest and newest: pyproject.toml's requires-python
# (tests/test_student_path.py holds the two together). Checked first, so that a kernel on
# another Python gets one sentence instead of an error from deep inside a library.
PYTHONS = ((3, 11), (3, 13))
_VERSIONS = [f"3.{minor}" for minor in range(PYTHONS[0][1], PYTHONS[1][1] + 1)]
if not PYTHONS[0] <= _sys.version_info[:2] <= PYTHONS[1]:
    raise ImportError(
        f"The course kit needs Python {', '.join(_VERSIONS[:-1])} or {_VERSIONS[-1]}, and this "
        f"kernel runs Python {_sys.version.split()[0]}: install one of those, set up the kit in "
        "it as the course site's Getting started page shows, and choose its kernel."
    )

# Public name -> the submodule that defines it. Submodules load on first use, so tools that
# only need the submission checker don't pay for importing TensorFlow.
EXPORTS = {
    "CourseKitError": "errors",
    "DatasetError": "errors",
    "DownloadError": "errors",
    "SubmissionError": "errors",
    "FASHION_MNIST_CLASSES": "loaders",
    "MNIST_CLASSES": "loaders",
    "load_fashion_mnist": "loaders",
    "load_mnist": "loaders",
    "MacroF1Score": "metrics",
    "batch_f1": "metrics",
    "classification_report_table": "metrics",
    "plot_class_distribution": "plots",
    "plot_confusion_matrix": "plots",
    "plot_error_matrix": "plots",
    "plot_feature_maps": "plots",
    "plot_filters": "plots",
    "plot_misclassified": "plots",
    "plot_sample_images": "plots",
    "plot_training_history": "plots",
    "check_and_pack": "handin",
    "compare_models": "experiments",
    "fast_mode": "runmode",
    "fast_subset": "runmode",
    "make_submission": "submission",
    "validate_submission": "submission",
}

__all__ = sorted(EXPORTS)


def __getattr__(name: str):
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f".{EXPORTS[name]}", __name__)
    except ModuleNotFoundError as error:
        if not error.name or error.name.split(".")[0] == __name__:
            raise
        raise ModuleNotFoundError(
            f"The course kit needs {error.name.split('.')[0]}, which this kernel's Python "
            f"({_sys.executable}) does not have: install coursekit[student] into it with the "
            "pip line of the course site's Getting started page.",
            name=error.name,
        ) from error
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
