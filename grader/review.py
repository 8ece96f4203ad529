"""Looking at a student's file without running it: is it there, is it Python, is it started?"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from .i18n import _


class Unusable(Exception):
    """The student's file cannot be graded at all; the message says why and what to do."""


def read_source(path: Path) -> str:
    """The file's text, read as Python reads it (a UTF-8 BOM or a coding line is fine)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise Unusable(_("{file} is missing: put your code in {path}").format(
            file=path.name, path=path)) from None
    try:
        source = importlib.util.decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        raise Unusable(_("{file} is not saved as UTF-8: save it as UTF-8 in your "
                         "editor").format(file=path.name)) from None
    try:
        compile(data, str(path), "exec")
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
