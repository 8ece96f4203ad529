"""Looking at a student's file without running it: is it there, is it Python, is it started?"""

from __future__ import annotations

import ast
import importlib.util
import os
import stat
from pathlib import Path

from .i18n import _
from .safe_text import visible


class Unusable(Exception):
    """The student's file cannot be graded at all; the message says why and what to do."""


MAX_SOURCE = 1 << 20  # bytes: a lesson's file is a few kB; a bigger one is not the right file


def read_source(path: Path) -> str:
    """The file's text, read as Python reads it (a UTF-8 BOM or a coding line is fine)."""
    data = _read_regular_file(path)
    try:
        source = importlib.util.decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        raise Unusable(_("{file} is not saved as UTF-8: save it as UTF-8 in your "
                         "editor").format(file=path.name)) from None
    try:
        compile(data, str(path), "exec")
    except SyntaxError as error:
        code = visible((error.text or "").strip())
        raise Unusable(_("{file} line {line}: {error} — {code}. Fix it and run the grader "
                         "again.").format(file=path.name, line=error.lineno, error=error.msg,
                                          code=code)) from None
    return source


def _read_regular_file(path: Path) -> bytes:
    """The bytes of a plain file of at most MAX_SOURCE bytes. A link is not followed, and a
    device or a pipe is not opened for long: a submission's server.py may be a link to
    /dev/zero or to a file only the grader may read, or a pipe that nobody writes."""
    missing = Unusable(_("{file} is missing: put your code in {path}").format(
        file=path.name, path=path))
    try:
        if path.is_symlink():
            raise Unusable(_("{file} is a link to another file: put your own code in "
                             "{path} itself").format(file=path.name, path=path))
        for folder in _linked_folders(path):
            raise Unusable(_("{folder} is a link to another folder: put your own code in "
                             "{path} itself").format(folder=folder.name, path=path))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise missing from None
    except OSError as error:  # a link swapped in meanwhile (ELOOP), no right to read it
        raise Unusable(_("{file} cannot be read ({reason}): put your code in {path}").format(
            file=path.name, reason=error.strerror or error, path=path)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise missing  # a folder, a pipe, a device
        data = b""
        while len(data) <= MAX_SOURCE:
            chunk = os.read(fd, MAX_SOURCE + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_SOURCE:
        raise Unusable(_("{file} is larger than {size} MB: is it the right file? A lesson's "
                         "code is a few kB.").format(file=path.name, size=MAX_SOURCE >> 20))
    return data


def _linked_folders(path: Path) -> list[Path]:
    """The folders of a submission above `path` that are links: its step folder, its lessons/
    (a repository may link a classmate's, and the link's target would be graded as theirs)."""
    from .manifest import steps

    ours = {step.folder for step in steps()} | {"lessons"}
    return [folder for folder in (path.parent, path.parent.parent)
            if folder.name in ours and folder.is_symlink()]


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


def accept_place(source: str) -> tuple[int, str] | None:
    """Where a script's server accepts clients: (line, enclosing function or '') of the first
    `.accept()` call, for advice on moving it into serve(listener)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
            elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                  and child.func.attr == "accept"):
                found.append((child.lineno, function))
            else:
                visit(child, function)

    visit(tree, "")
    return min(found) if found else None


def defines(source: str, name: str) -> bool:
    """Does the module define a function `name` at its top level?"""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
               for node in tree.body)


LINE_READING = {"readline", "readlines", "makefile", "splitlines"}
NEWLINE_SEARCH = {"split", "rsplit", "find", "rfind", "index", "rindex", "partition",
                  "rpartition", "count", "endswith"}


def reads_lines(source: str) -> bool:
    """Does the code look for a newline in what it receives (a split on "\\n", a readline)?
    A server whose prompt has no "\\n" then still reads lines: our clients end theirs with
    it. One that never does takes each recv() as a message, as the assignment's sample."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False

    def newline(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and node.value in ("\n", b"\n")

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in LINE_READING:
            return True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in NEWLINE_SEARCH and any(map(newline, node.args))):
            return True
        if (isinstance(node, ast.Compare) and newline(node.left)
                and isinstance(node.ops[0], (ast.In, ast.NotIn))):
            return True
    return False
