"""`python -m grader` is the same as the `grader` command."""

import sys

from .cli import main

sys.exit(main())
