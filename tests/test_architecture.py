"""The floors of docs/architecture.md, checked on the import statements themselves.

- the model (``evidence.model``) imports no stage and nothing above it;
- a stage (``capture``, ``anchoring``, ``reports``) imports the model and
  itself, never another stage and nothing above;
- verification never imports the services, the services never import the CLI;
- the CLI (``cli.py`` and ``evidence.cli``) uses only the public facade;
- no module reaches into another package's underscored names;
- no import cycle between files (imports at module level).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("evidence", "capture", "anchoring", "reports")
STAGES = ("capture", "anchoring", "reports")


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    names: tuple[str, ...]
    line: int
    top_level: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> Iterator[Path]:
    yield ROOT / "cli.py"
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "_migrations" not in path.parts:
                yield path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> Iterator[Import]:
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            type_only.update(id(child) for sub in node.body for child in ast.walk(sub))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno, id(node) in top)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(alias.name for alias in node.names)
            yield Import(module, base, names, node.lineno, id(node) in top)


def _ours(target: str) -> bool:
    return target == "cli" or target.split(".")[0] in PACKAGES


def _all_imports() -> list[Import]:
    return [imp for path in _sources() for imp in _imports(path) if _ours(imp.target)]


def _floor(module: str) -> str:
    if module == "cli" or module.startswith("evidence.cli"):
        return "cli"
    if module.startswith("evidence.model"):
        return "model"
    if module.startswith("evidence.services"):
        return "services"
    if module.startswith("evidence.verification"):
        return "verification"
    if module.startswith("evidence.worker"):
        return "worker"
    if module.startswith("evidence.api"):
        return "api"
    if module == "evidence":
        return "facade"
    head = module.split(".")[0]
    return head if head in STAGES else "other"


ALLOWED = {
    "model": {"model"},
    "capture": {"model", "capture"},
    "anchoring": {"model", "anchoring"},
    "reports": {"model", "reports"},
    "verification": {"model", "capture", "anchoring", "reports", "verification"},
    "services": {"model", "capture", "anchoring", "reports", "verification", "services"},
    "facade": {"model", "services", "verification"},
    # The Celery workers: an interface like the CLI (nothing imports them; celery -A does).
    "worker": {"facade", "worker"},
    # The HTTP API (evidence api): an interface; only the CLI's `api` command starts it.
    "api": {"facade", "api"},
    # `evidence api` starts the HTTP API (imported inside the command, when it runs).
    "cli": {"facade", "cli", "api"},
}


def _where(imp: Import) -> str:
    return f"{imp.importer}:{imp.line} imports {imp.target}"


def test_each_floor_imports_only_the_floors_below_it() -> None:
    wrong = [
        _where(imp)
        for imp in _all_imports()
        if _floor(imp.target) not in ALLOWED.get(_floor(imp.importer), set())
    ]
    assert not wrong, "\n".join(wrong)


def _package_of(module: str) -> str:
    return module.rsplit(".", 1)[0] if "." in module else module


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_reaches_into_another_packages_private_names() -> None:
    wrong = []
    for imp in _all_imports():
        own_package = _package_of(imp.importer) if imp.importer.count(".") else imp.importer
        target_parts = imp.target.split(".")
        private_module = any(_private(part) for part in target_parts)
        private_names = [name for name in imp.names if _private(name)]
        if not (private_module or private_names):
            continue
        # Underscored modules and names are the plumbing of the package that owns them.
        owner = ".".join(p for p in target_parts if not _private(p)) if private_module else None
        owner = owner or imp.target
        if not (imp.importer.startswith(owner) or own_package.startswith(owner)):
            wrong.append(_where(imp) + (f" ({', '.join(private_names)})" if private_names else ""))
    assert not wrong, "\n".join(wrong)


def _resolve(target: str, names: tuple[str, ...], modules: set[str]) -> set[str]:
    found = {f"{target}.{name}" for name in names if f"{target}.{name}" in modules}
    if target in modules and (not names or len(found) < len(names)):
        found.add(target)
    return found


def test_no_import_cycles_between_files() -> None:
    modules = {_module_name(path) for path in _sources()}
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for imp in _all_imports():
        if imp.top_level:
            graph[imp.importer] |= _resolve(imp.target, imp.names, modules) - {imp.importer}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    # A package's __init__ re-exporting its own submodules is not a cycle.
    real = [c for c in cycles if not all(_package_of(m) == _package_of(c[0]) for m in c)]
    real = [c for c in real if not any(m.count(".") == 0 and m in PACKAGES for m in c)]
    assert not real, "\n".join(" -> ".join(c) for c in real)
