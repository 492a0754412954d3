"""The house's rules, read from the source with ``ast`` (nothing is imported): no import circle between octprof's
modules, and no private name (``_name``) of one octprof module used by another."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "octprof"

# Circles that cannot be removed yet, each with the reason: a cycle as its modules in order, starting from the
# smallest name (as find_cycles gives it).
ALLOWED_CYCLES: dict[tuple[str, ...], str] = {}

# Private names one module still reads from another, in files other engineers are editing now: (module, owner,
# name) -> reason.  Empty: nothing crosses today.
ALLOWED_PRIVATE: dict[tuple[str, str, str], str] = {}


def modules() -> dict[str, pathlib.Path]:
    """``{"octprof.core.layer": path}`` for every module of the package (a package is its ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (never run)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def _imports(name: str, path: pathlib.Path) -> list[ast.Import | ast.ImportFrom]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = _type_checking_only(tree)
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skip]


def _base(name: str, path: pathlib.Path, node: ast.ImportFrom) -> str:
    """The absolute module an ``import from`` reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _owner(dotted: str, mods: dict[str, pathlib.Path]) -> str | None:
    """The deepest octprof module a dotted name lies in."""
    while dotted and dotted not in mods:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def import_graph(mods: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """Module -> the octprof modules it imports, at the top and inside functions alike (``importlib`` calls with a
    computed name, the lazy exports and the zoo's ``module:function`` factories, are not import statements)."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in _imports(name, path):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = _base(name, path, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                owner = _owner(t, mods) if t.startswith("octprof") else None
                if owner and owner != name:
                    graph[name].add(owner)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Every strongly connected group of more than one module, as a cycle through it (Tarjan, then a path)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:
        start = min(group)
        # a shortest way back to start inside the group
        paths = {start: (start,)}
        frontier = [start]
        found: tuple[str, ...] | None = None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & group):
                    if w == start:
                        found = paths[v]
                        break
                    if w not in paths:
                        paths[w] = (*paths[v], w)
                        nxt.append(w)
                if found:
                    break
            frontier = nxt
        cycles.append(found or tuple(sorted(group)))
    return cycles


def private_uses(mods: dict[str, pathlib.Path]) -> set[tuple[str, str, str, int]]:
    """``(module, owner, name, line)`` for every ``from octprof.x import _name`` and every ``x._name`` where ``x``
    is an octprof module bound by an import (``import octprof.x as x``, ``from octprof import x``) or written out
    (``octprof.x._name``).  Dunder names (``__version__``) are public."""

    def private(attr: str) -> bool:
        return attr.startswith("_") and not attr.startswith("__")

    out = set()
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        bound: dict[str, str] = {}  # local name -> octprof module
        for node in _imports(name, path):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("octprof"):
                        bound[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                continue
            base = _base(name, path, node)
            if not base.startswith("octprof"):
                continue
            for a in node.names:
                if f"{base}.{a.name}" in mods:
                    bound[a.asname or a.name] = f"{base}.{a.name}"
                elif private(a.name) and base != name:
                    out.add((name, base, a.name, node.lineno))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and private(node.attr)):
                continue
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if not isinstance(value, ast.Name) or value.id not in bound:
                continue
            dotted = ".".join([bound[value.id], *reversed(chain)])
            if dotted in mods and dotted != name:
                out.add((name, dotted, node.attr, node.lineno))
    return out


def test_the_checks_see_the_package():
    mods = modules()
    graph = import_graph(mods)
    assert "octprof.measure" in mods and "octprof.zoo" in mods and "octprof.cli.options" in mods
    assert "octprof.machine" in graph["octprof.measure"]  # top-level imports
    assert "octprof.measure" in graph["octprof.cli.bench"]  # function-level imports count too


def test_the_checks_find_what_they_look_for(tmp_path):
    cyclic = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(cyclic) == [("a", "b", "c")]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    files = {
        "a": "from octprof.b import _x, y\nimport octprof.b as b\nfrom octprof import b as bb\n\n\n"
        "def f():\n    import octprof.b\n    return b._y, bb._z, octprof.b._w, b.__doc__, y._own\n",
        "b": "from . import a\n_x = _y = _z = _w = y = 0\n",
    }
    mods = {}
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text)
        mods[f"octprof.{name}"] = tmp_path / f"{name}.py"
    found = {(m, owner, attr) for m, owner, attr, _ in private_uses(mods)}
    assert found == {("octprof.a", "octprof.b", n) for n in ("_x", "_y", "_z", "_w")}
    assert find_cycles(import_graph(mods)) == [("octprof.a", "octprof.b")]


def test_no_import_circle():
    cycles = find_cycles(import_graph(modules()))
    unexplained = [" -> ".join((*c, c[0])) for c in cycles if c not in ALLOWED_CYCLES]
    assert not unexplained, "import circles between octprof modules:\n" + "\n".join(unexplained)
    stale = [c for c in ALLOWED_CYCLES if c not in cycles]
    assert not stale, f"allowed circles that are gone (remove them from ALLOWED_CYCLES): {stale}"


def test_no_private_name_crosses_a_module():
    uses = private_uses(modules())
    found = {(m, owner, attr) for m, owner, attr, _ in uses}
    unexplained = sorted(
        f"{m}:{line} uses {owner}.{attr}" for m, owner, attr, line in uses if (m, owner, attr) not in ALLOWED_PRIVATE
    )
    assert not unexplained, "private names used across modules (make them public):\n" + "\n".join(unexplained)
    stale = [k for k in ALLOWED_PRIVATE if k not in found]
    assert not stale, f"allowed crossings that are gone (remove them from ALLOWED_PRIVATE): {stale}"
