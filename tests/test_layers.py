"""The layout is a rule, not a habit: the import graph between the packages is checked here.

core (pure rules) <- storage <- services <- handlers, runtime; render reads core; sandbox drives runtime.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot.core", "bot.services", "bot.render", "bot.runtime", "bot.sandbox", "handlers", "storage")
CORE_FORBIDDEN = ("sqlmodel", "sqlalchemy", "slack_sdk", "slack_bolt", "aiohttp", "storage", "handlers",
                  "bot.services", "bot.render", "bot.runtime", "bot.sandbox")
STORAGE_FORBIDDEN = ("bot.services", "bot.render", "handlers", "bot.runtime", "bot.sandbox")
RENDER_FORBIDDEN = ("storage", "handlers", "bot.services", "bot.runtime", "bot.sandbox")


def _modules() -> Iterator[tuple[str, Path]]:
    for top in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def _imports(path: Path, module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = module.split(".")[: -node.level] if not path.name == "__init__.py" else \
                    module.split(".")[: len(module.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _package(name: str) -> str | None:
    return next((p for p in PACKAGES if name == p or name.startswith(p + ".")), None)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


GRAPH = {name: _imports(path, name) for name, path in _modules()}


def test_core_is_pure() -> None:
    bad = {m: sorted(i for i in imps if _within(i, CORE_FORBIDDEN))
           for m, imps in GRAPH.items() if _within(m, ("bot.core",))}
    assert not {m: i for m, i in bad.items() if i}, "bot.core must not do I/O or know the outer layers"


def test_storage_knows_only_the_core() -> None:
    bad = {m: sorted(i for i in imps if _within(i, STORAGE_FORBIDDEN))
           for m, imps in GRAPH.items() if _within(m, ("storage",))}
    assert not {m: i for m, i in bad.items() if i}


def test_render_draws_records_and_decides_nothing() -> None:
    bad = {m: sorted(i for i in imps if _within(i, RENDER_FORBIDDEN))
           for m, imps in GRAPH.items() if _within(m, ("bot.render",))}
    assert not {m: i for m, i in bad.items() if i}


def test_no_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for module, imps in GRAPH.items():
        source = _package(module)
        if source is None:
            continue
        edges[source].update(t for i in imps if (t := _package(i)) and t != source)

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(edges[node]):
            if nxt == start:
                return seen + (nxt,)
            if nxt not in seen and (found := cycle_from(start, nxt, seen + (nxt,))):
                return found
        return None

    cycles = [c for p in PACKAGES if (c := cycle_from(p, p, (p,)))]
    assert not cycles, f"package import cycles: {cycles}"


def test_the_check_sees_the_imports() -> None:
    # The graph is real: a rule that reads nothing would pass for anything.
    assert "bot.core.handoff" in GRAPH["bot.core.lifecycle"] or any(
        i.startswith("bot.core.handoff") for i in GRAPH["bot.core.lifecycle"])
    assert any(i.startswith("storage") for i in GRAPH["bot.services.handoffs"])
