"""A copied solution in disguise, for the similarity check to find.

:func:`disguised_copy` takes a classmate's variant and rewrites its code the
way students hide a copy: local names renamed, top-level functions in
another order, comments reworded. The program stays the same, so it earns
the same points; ``coursekit similarity`` must still rank the pair first.
"""

from __future__ import annotations

import ast
import io
import keyword
import tokenize
from dataclasses import replace

from autograder.demo.variants import Variant

#: Names a copier renames (never an API name: attributes and keyword arguments are left alone).
RENAMES = {
    "images": "pictures",
    "pixels": "values",
    "labels": "targets",
    "label": "target",
    "one_hot": "encoded",
    "row": "index",
    "n_classes": "k",
    "tp": "hits",
    "fp": "false_alarms",
    "fn": "misses",
    "f1": "per_class",
    "counted": "present",
    "block": "conv_unit",
    "filters": "width",
}


def rename(source: str) -> str:
    """``source`` with the names in :data:`RENAMES` renamed, where they are plain names."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    out, depth = [], 0
    for index, token in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(token.string, 0) if token.type == tokenize.OP else 0
        before = tokens[index - 1].string if index else ""
        after = tokens[index + 1].string if index + 1 < len(tokens) else ""
        argument_name = depth > 0 and after == "="  # f(labels=...): the callee's name for it
        plain = token.type == tokenize.NAME and not keyword.iskeyword(token.string)
        if plain and before != "." and not argument_name and token.string in RENAMES:
            token = token._replace(string=RENAMES[token.string])
        out.append(token)
    return tokenize.untokenize(out)


def reword_comments(source: str) -> str:
    """Every comment replaced by another wording of the same kind of note."""
    lines = []
    for line in source.splitlines():
        code, hash_, _comment = line.partition("#")
        if hash_ and not code.strip():
            lines.append(f"{code}# (my notes)")
        elif hash_ and "'" not in code and '"' not in code:
            lines.append(f"{code.rstrip()}  # see above")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def reorder(source: str) -> str:
    """Top-level functions in reverse order (other statements keep their place and order)."""
    tree = ast.parse(source)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if len(functions) < 2:
        return source
    lines = source.splitlines()
    blocks = ["\n".join(lines[f.lineno - 1 : f.end_lineno]) for f in functions]
    first, last = functions[0].lineno - 1, functions[-1].end_lineno
    between = [node for node in tree.body[tree.body.index(functions[0]) :] if node not in functions]
    if any(node.lineno <= last for node in between):
        return source  # code between the functions: keep the order it needs
    head, tail = "\n".join(lines[:first]), "\n".join(lines[last:])
    body = "\n\n\n".join(reversed(blocks))
    return "\n".join(part for part in (head, body, tail) if part) + "\n"


def disguised_copy(name: str, original: Variant) -> Variant:
    """``original``'s cells, renamed, reordered and recommented; the same grade."""
    cells = {
        key: reorder(reword_comments(rename(source))) for key, source in original.cells.items()
    }
    for key, source in cells.items():
        compile(source, f"<{name}: {key}>", "exec")  # a disguise never breaks the code
    return replace(
        original,
        name=name,
        story=f"a disguised copy of {original.name}: renamed, reordered, recommented",
        cells=cells,
    )
