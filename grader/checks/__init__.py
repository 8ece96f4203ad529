"""The checks, one small function each. Importing this package registers them all.

To add a check: write a function in the module of its step, decorate it with @check, give it
a docstring (the line the student reads), and talk to the server through the `server` fixture.
"""

from . import chat, client, echo  # noqa: F401  (registers the checks)
from .registry import Check, checks_for, skipped_because

__all__ = ["Check", "checks_for", "skipped_because"]
