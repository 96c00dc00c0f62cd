"""Skip an import that costs every grading process 1.5 s and that nothing in the kit uses.

nbformat, nbgrader and nbclient import jsonschema. When the optional package
``rfc3987-syntax`` is installed (Jupyter's event schemas bring it), jsonschema
imports it to check the ``iri`` formats, and that import compiles a Lark
grammar: about 1.5 s on this course's 2-core machine, in every worker (one per
student) and every ``coursekit`` command. No schema the kit validates (notebooks,
nbgrader's) has an ``iri`` format, and jsonschema does without the package when
it is missing.
"""

from __future__ import annotations

import sys

UNUSED_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


def skip_unused_optional_imports() -> None:
    """Make :data:`UNUSED_OPTIONAL_IMPORTS` look absent to this process (before jsonschema loads).

    ``None`` in :data:`sys.modules` makes ``import`` raise ``ImportError``, which
    jsonschema treats as the package not being installed.
    """
    for name in UNUSED_OPTIONAL_IMPORTS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]
