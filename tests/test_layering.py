"""The package's layers: module-level imports only point down, and no module-level import cycle.

DESIGN.md's layout table says what each folder may import ("arrows only point down"). Here every
top-level part of ``signalkit`` has a rank; a module may import, at module level, only parts of its
own rank or below. Imports inside functions (lazy imports for optional or heavy dependencies) are
not counted: they cannot make an import cycle at start-up. A new part of the package must be given a
rank here, which is the point: its place in the layers is a decision, not an accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the installed package names of the repository's folders (pyproject's package-dir)
PACKAGES = {"signalkit": ROOT / "signalkit", "signalkit.datamodules": ROOT / "datamodules",
            "signalkit.tasks": ROOT / "tasks", "signalkit.kernels": ROOT / "kernels"}

RANKS = {
    # shared vocabulary: errors, contracts, safety and config checks, the one Registry
    0: ["errors", "version", "_deprecated", "registry", "recording", "lazy_attrs", "batch", "guard", "run_folder",
        "archive", "config_checks", "targets", "model_bounds", "time_budget"],
    # readers, kernels and metrics know nothing of models or data modules
    1: ["io", "kernels", "metrics"],
    # the store, generators, statistical baselines and the three model parts (heads may share a
    # block with a tokenizer: frames' conv_block)
    2: ["store", "store_cluster", "synthetic", "baselines", "tokenizers", "backbones", "heads"],
    3: ["datamodules", "models", "ensemble", "lora"],
    4: ["tasks", "pretrained", "pretrained_registry", "checkpointing", "plot", "predict"],
    5: ["training", "config"],
    # the CLI and the deprecated shims of old flat paths may import anything
    6: ["cli", "demo", "augment", "masking", "models_video", "moving_mnist", "plot_fmri", "plot_video",
        "plot_weather", "synthetic_fmri"],
}
RANK = {f"signalkit.{part}": rank for rank, parts in RANKS.items() for part in parts}
RANK["signalkit"] = 6  # the package's __init__ re-exports the public API


def _modules() -> dict[str, Path]:
    mods = {}
    for base, folder in PACKAGES.items():
        for f in folder.rglob("*.py"):
            parts = [p for p in f.relative_to(folder).with_suffix("").parts if p != "__init__"]
            mods[".".join([base, *parts])] = f
    return mods


def _module_level_imports(name: str, path: Path) -> set[str]:
    """Names of the ``signalkit`` modules ``path`` imports when it is imported (not in functions)."""
    tree = ast.parse(path.read_text())
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        nodes = list(ast.walk(node)) if isinstance(node, (ast.If, ast.Try, ast.With)) else [node]
        for n in nodes:
            if isinstance(n, ast.Import):
                out.update(a.name for a in n.names)
            elif isinstance(n, ast.ImportFrom):
                mod = ".".join(pkg[: len(pkg) - n.level + 1] + [n.module or ""]).strip(".") if n.level else n.module
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in n.names)
    return {m for m in out if m and (m == "signalkit" or m.startswith("signalkit."))}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        deps = set()
        for m in _module_level_imports(name, path):
            while m and m not in mods:  # `from pkg.mod import name` -> pkg.mod
                m = m.rpartition(".")[0]
            if m and m != name:
                deps.add(m)
        graph[name] = deps
    return graph


def _part(module: str) -> str:
    return ".".join(module.split(".")[:2])


GRAPH = _graph()


def test_every_part_of_the_package_has_a_rank():
    unranked = sorted({_part(m) for m in GRAPH} - set(RANK))
    assert not unranked, f"give these a rank in tests/test_layering.py: {unranked}"


def _upward(graph: dict[str, set[str]]) -> list[str]:
    """``"a -> b"`` for every import of a higher-ranked part."""
    return sorted(f"{a} -> {b}" for a, deps in graph.items() for b in deps
                  if _part(a) in RANK and _part(b) in RANK and RANK[_part(b)] > RANK[_part(a)])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph`` (its strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return cycles


def test_module_level_imports_point_down():
    up = _upward(GRAPH)
    assert not up, "imports from a higher layer:\n" + "\n".join(up)


def test_no_module_level_import_cycle():
    assert _cycles(GRAPH) == []


def test_the_checks_catch_an_upward_import_and_a_cycle():
    fake = {"signalkit.io.a": {"signalkit.tasks.base"}, "signalkit.tasks.base": {"signalkit.models"},
            "signalkit.models": {"signalkit.tasks.base"}}
    assert _upward(fake) == ["signalkit.io.a -> signalkit.tasks.base", "signalkit.models -> signalkit.tasks.base"]
    assert _cycles(fake) == [["signalkit.models", "signalkit.tasks.base"]]


@pytest.mark.parametrize("src,expected", [
    ("from signalkit.tasks.base import BaseTask\n", {"signalkit.tasks.base", "signalkit.tasks.base.BaseTask"}),
    ("def f():\n    import signalkit.cli\n", set()),  # lazy: not counted
    ("from . import sibling\n", {"signalkit.io", "signalkit.io.sibling"}),
])
def test_import_scan_reads_what_a_module_imports(tmp_path, src, expected):
    f = tmp_path / "mod.py"
    f.write_text(src)
    assert _module_level_imports("signalkit.io.mod", f) == expected
