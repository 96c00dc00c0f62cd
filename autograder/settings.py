"""Defaults shared by the instructor commands; each one can be overridden by a flag."""

COURSE_DATA_ENV = "COURSEKIT_COURSE_DATA"
DEFAULT_COURSE_DATA = "data/course"
DEBUG_ENV = "COURSEKIT_DEBUG"
COURSE_ROOT_ENV = "COURSEKIT_COURSE_ROOT"

DEFAULT_SEED = 2024
TOTAL_IMAGES = 70_000  # Fashion-MNIST: 60,000 official train + 10,000 official test
TEST_SIZE = 10_500
PUBLIC_FRACTION = 0.3

# The Leaky ReLU slope the course teaches with: the site's figure, the notebook's figure
# and its model answer (tests/test_teaching_facts.py checks that they agree).
LEAKY_RELU_SLOPE = 0.1
