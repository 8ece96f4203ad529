"""Looking at a student's file before running it: syntax, unfinished TODOs, a guarded import."""

from __future__ import annotations

import ast
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from .harness import student_lines
from .i18n import _

IMPORT_DEADLINE = 2.0  # seconds an import may take before we call it "runs at import"


class Unusable(Exception):
    """The student's file cannot be graded at all; the message says why and what to do."""


def read_source(path: Path) -> str:
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unusable(_("{file} is missing: put your code in {path}").format(
            file=path.name, path=path)) from None
    except UnicodeDecodeError:
        raise Unusable(_("{file} is not saved as UTF-8: save it as UTF-8 in your "
                         "editor").format(file=path.name)) from None
    try:
        compile(source, str(path), "exec")
    except SyntaxError as error:
        code = (error.text or "").strip()
        raise Unusable(_("{file} line {line}: {error} — {code}. Fix it and run the grader "
                         "again.").format(file=path.name, line=error.lineno, error=error.msg,
                                          code=code)) from None
    return source


def unfinished(source: str, todos: tuple[str, ...]) -> list[str]:
    """The TODO functions whose body is still `raise NotImplementedError`."""
    still = []
    tree = ast.parse(source)
    functions: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for inner in node.body:
                if isinstance(inner, ast.FunctionDef):
                    functions[f"{node.name}.{inner.name}"] = inner
    for name in todos:
        function = functions.get(name)
        if function is not None and _only_raises_not_implemented(function):
            still.append(name)
    return still


def _only_raises_not_implemented(function: ast.FunctionDef) -> bool:
    body = [statement for statement in function.body
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def import_guarded(path: Path) -> ModuleType:
    """Import the student's module in a thread, so code that runs at import cannot hang us."""
    sys.path.insert(0, str(path.parent))  # the student's own helper modules
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException as error:  # noqa: B036 - report whatever happens
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True, name="student-import")
    thread.start()
    thread.join(IMPORT_DEADLINE)
    if thread.is_alive():
        raise Unusable(_("your {file} is still running {s:g} s after the grader imported it "
                         "({where}): move the code that starts the server under "
                         "if __name__ == \"__main__\":").format(
            file=path.name, s=IMPORT_DEADLINE, where=_where(thread, path)))
    error = outcome.get("error")
    if isinstance(error, SystemExit):
        raise Unusable(_("your {file} calls sys.exit() when it is imported ({where}): move "
                         "that code under if __name__ == \"__main__\":").format(
            file=path.name, where=student_lines(error, path)))
    if error is not None:
        raise Unusable(_("importing your {file} failed: {where}").format(
            file=path.name, where=student_lines(error, path)))
    return module


def _where(thread: threading.Thread, path: Path) -> str:
    """'line 41: conn, addr = sock.accept()' for the student's innermost frame in `thread`."""
    frame = sys._current_frames().get(thread.ident or -1)
    found = None
    while frame is not None:
        if Path(frame.f_code.co_filename).resolve() == path.resolve():
            found = frame
            break
        frame = frame.f_back
    if found is None:
        return path.name
    lines = path.read_text(encoding="utf-8").splitlines()
    code = lines[found.f_lineno - 1].strip() if found.f_lineno <= len(lines) else ""
    return _("line {line}: {code}").format(line=found.f_lineno, code=code)
