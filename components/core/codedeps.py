"""The code a step really runs: modules it imports, transitively, within ``components/`` (read from the AST).

For the step's own module only the step function's imports (and those of same-module helpers it
calls) count, plus the module's top-level imports, so ``train`` does not depend on ``report.py``
just because both live in ``steps.py``. Every other module reached counts with all its imports,
including those inside functions (lazy imports are still imports).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Callable

PACKAGE = "components"


def step_code_deps(func: Callable, root: Path, package: str = PACKAGE) -> list[str]:
    """Project-relative paths of every ``package`` file ``func`` depends on (sorted)."""
    module = func.__module__
    tree = _tree(module)
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    seen_funcs: set[str] = set()
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    imports: set[str] = set(_imports(module, top, package))

    def visit(name: str) -> None:
        if name in seen_funcs or name not in functions:
            return
        seen_funcs.add(name)
        body = functions[name]
        imports.update(_imports(module, list(ast.walk(body)), package))
        local = _local_names(body)
        for node in ast.walk(body):  # same-module helpers it uses (called or passed on), not local variables
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in functions \
                    and node.id not in local:
                visit(node.id)

    visit(func.__name__)
    paths = {_relpath(module, root)}
    for m in imports:
        paths.update(module_deps(m, root, package))
    return sorted(paths)


def module_deps(module: str, root: Path, package: str = PACKAGE) -> list[str]:
    """``module`` and every ``package`` module it imports, transitively (sorted project-relative paths)."""
    modules, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in modules:
            modules.add(m)
            todo.extend(_module_imports(m, package))
    return sorted(_relpath(m, root) for m in modules)


def _local_names(func: ast.AST) -> set[str]:
    """Arguments and names bound inside ``func`` (they shadow module-level functions of the same name)."""
    args = func.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _module_imports(module: str, package: str) -> tuple[str, ...]:
    return tuple(_imports(module, list(ast.walk(_tree(module))), package))


def _tree(module: str) -> ast.Module:
    return ast.parse(Path(_origin(module)).read_text(encoding="utf-8"))


def _origin(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot find module {module}")
    return spec.origin


def _imports(module: str, nodes: list, package: str) -> list[str]:
    """``components`` modules imported by ``nodes`` (``from pkg import mod`` names the module ``pkg.mod``)."""
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == package]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parts = module.split(".")[: -node.level]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] != package:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(sub if importlib.util.find_spec(base) and _is_module(sub) else base)
    return [m for m in found if _is_module(m)]


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _relpath(module: str, root: Path) -> str:
    return Path(_origin(module)).resolve().relative_to(root.resolve()).as_posix()
