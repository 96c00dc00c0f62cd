"""``python -m autograder.course.nbgrader_command ARGS``: ``nbgrader ARGS``, started faster.

The same as ``python -m nbgrader ARGS``, after :mod:`autograder.lean_imports`
has kept jsonschema from compiling a grammar nbgrader never uses (1.5 s a call).
"""

from __future__ import annotations

from autograder.lean_imports import skip_unused_optional_imports

if __name__ == "__main__":
    skip_unused_optional_imports()
    from nbgrader.apps.nbgraderapp import main

    main()
