"""The student zoo: solutions written the way different students write them, each with its grade.

The right ones cover every task in many styles (functional, Sequential,
subclassed, nested blocks; numpy or keras.ops preprocessing; losses and
metrics as strings or objects; different but equivalent F1 formulas). The
wrong ones each make one mistake that students make. Every variant is a
:class:`~autograder.demo.variants.Variant`; the demo class's students are
made of them, and ``tests/demo/`` grades all of them (in process, with the
grader's own checker) and a sample through ``coursekit grade``.
"""

from __future__ import annotations

from autograder.demo.variants import Variant
from autograder.demo.zoo.fashion import PART2_VARIANTS
from autograder.demo.zoo.lenet import PART1_VARIANTS

VARIANTS: list[Variant] = PART1_VARIANTS + PART2_VARIANTS
BY_NAME: dict[str, Variant] = {variant.name: variant for variant in VARIANTS}
