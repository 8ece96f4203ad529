"""The checks, one small function each. Importing this package registers them all.

To add a check: write a function in the module of its step, decorate it with @check, give it
a docstring (the line the student reads), and talk to the server through the `server` fixture
(the client step: `lab`; a server in words of its own: `plain`). They run as pytest tests too:
`python -m pytest --pyargs grader.checks --student lessons`.
"""

from . import behaviour, chat, client, echo, fast_chat  # noqa: F401  (registers the checks)
from .registry import Check, checks_for, every_check_of, find, inherit, skipped_because

__all__ = ["Check", "checks_for", "every_check_of", "find", "inherit", "skipped_because"]
