"""`python -m grader` is the same as the `grader` command."""

import os
import sys

# `python -m` puts the current folder first on sys.path: a student's json.py or grader.py
# there must not stand in for the grader's own modules.
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]

from grader.cli import main  # noqa: E402

sys.exit(main())
