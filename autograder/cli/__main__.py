"""``python -m autograder.cli``: the same as the ``coursekit`` command."""

import sys

from autograder.cli.main import main

sys.exit(main())
