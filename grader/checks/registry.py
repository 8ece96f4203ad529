"""@check: registers a function as a check of one step (stack it to share a check).

A check is an ordinary pytest test: grader/pytest_plugin.py collects every function that carries
@check, once per step, and hands it the fixture its parameter names (`server` or `lab`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..i18n import _

DEFAULT_TIMEOUT = 10.0  # seconds; pytest-timeout stops a check that takes longer


@dataclass(frozen=True)
class Check:
    step: str
    name: str
    description: str  # the docstring's first line: what the student reads
    points: int
    after: tuple[str, ...]  # checks of the same step that must pass first, else this is skipped
    timeout: float
    # runs in a worker of its own, so that its slow measurement holds up no other (not when a
    # class is graded: there a step's checks share one worker)
    alone: bool
    # the host switches threads as often as it can; with "locks" its locks yield before they
    # are taken; with "yields" each send waits a moment and the student's code lets the other
    # threads run every few lines: a race shows every time; with "late_ends" the server learns
    # half a second late that a client has gone, so that a broadcast meets its dead socket
    races: bool | str
    function: Callable
    # Judged without the protocol's strings, shown apart from the score, and run only for a
    # server whose prompt is not the protocol's (grader/checks/behaviour.py).
    behaviour: bool = False
    # checks of the same step whose failure has this one's cause: when one of them failed,
    # this one is skipped (it would only repeat that verdict); when one was skipped or passed,
    # this one judges on its own, unlike `after`
    same_cause: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """'04::no_busy_loop': the check's name is unique within its step."""
        return f"{self.step}::{self.name}"


_REGISTRY: list[Check] = []


def check(step: str, points: int, after: str | tuple[str, ...] = (),
          timeout: float = DEFAULT_TIMEOUT, alone: bool = False,
          races: bool | str = False, behaviour: bool = False,
          same_cause: str | tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    def register(function: Callable) -> Callable:
        doc = (function.__doc__ or function.__name__).strip().splitlines()[0]
        registered = Check(
            step=step, name=function.__name__, description=doc, points=points,
            after=(after,) if isinstance(after, str) else tuple(after),
            timeout=timeout, alone=alone, races=races, function=function, behaviour=behaviour,
            same_cause=(same_cause,) if isinstance(same_cause, str) else tuple(same_cause),
        )
        _REGISTRY.append(registered)
        # pytest finds the checks through this attribute (one function, one item per step)
        function.__grader_checks__ = [*getattr(function, "__grader_checks__", []), registered]
        return function

    return register


def inherit(step: str, base: str, but: tuple[str, ...] = ()) -> None:
    """`step` is judged on every scored check of `base` too (`but` those its protocol
    changes), each worth no points there (its own checks carry its points): a step that breaks
    its base's protocol cannot pass."""
    for inherited in checks_for(base):
        if inherited.name in but:
            continue
        copy = replace(inherited, step=step, points=0)
        _REGISTRY.append(copy)
        inherited.function.__grader_checks__.append(copy)


def checks_for(step: str, behaviour: bool = False) -> list[Check]:
    """A step's scored checks (`behaviour`: its behaviour checks instead) in the order they
    run: the order of their modules and lines."""
    found = [c for c in _REGISTRY if c.step == step and c.behaviour == behaviour]
    return sorted(found, key=lambda c: (c.function.__code__.co_filename,
                                        c.function.__code__.co_firstlineno))


def every_check_of(step: str) -> list[Check]:
    """What a worker runs for a step: its scored checks, then its behaviour checks."""
    return checks_for(step) + checks_for(step, behaviour=True)


def find(step: str, name: str) -> Check:
    for registered in _REGISTRY:
        if registered.step == step and registered.name == name:
            return registered
    raise KeyError(f"{step}::{name}")


def skipped_because(needed: Check) -> str:
    """Why a check did not run: the student-facing line of the check it needs."""
    return _("skipped: needs “{check}”").format(check=_(needed.description))
