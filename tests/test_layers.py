"""The library's layers: imports only go down (CONTRIBUTING.md's house rules, checked on the source).

Top to bottom; a module may import from its own layer and the layers below, never above. Chapter
modules never import one another. (An AST walk instead of import-linter: the same contract in a
few lines, with no extra dependency.)
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sbcore"
LAYERS = [
    ("entry points", ("__main__", "reproduce", "testbed")),
    ("chapters", ("chapters",)),
    ("claims and figures", ("claims", "figures")),
    ("experiments", ("experiments",)),
    ("metrics and attacks", ("metrics", "attacks", "margins", "oracles", "probes")),
    ("train", ("train", "train_guards", "checkpoints", "cuda_graphs")),
    ("models", ("models",)),
    ("data", ("data",)),
    ("runtime", ("runtime", "scales", "progress")),
]
LEVEL = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    """``sbcore.chapters.ch02_x`` -> ``chapters``."""
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute names of the sbcore modules ``path`` imports, with their line numbers."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + ".__init__"
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            names = [name] if node.module else [f"{name}.{a.name}" for a in node.names]
            out += [(n, node.lineno) for n in names if n.startswith("sbcore.")]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("sbcore.")]
    return out


FILES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


def test_every_module_has_a_layer():
    for path in FILES:
        mod = path.relative_to(ROOT).with_suffix("").parts[0]
        assert mod in LEVEL, f"sbcore/{path.relative_to(ROOT)} is in no layer; add it to LAYERS"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_go_down(path):
    mine = path.relative_to(ROOT).with_suffix("").parts[0]
    for name, line in _imports(path):
        theirs = _top(name)
        if theirs in LEVEL:
            assert LEVEL[theirs] >= LEVEL[mine], (
                f"sbcore/{path.relative_to(ROOT)}:{line} ({LAYERS[LEVEL[mine]][0]}) imports "
                f"{name} ({LAYERS[LEVEL[theirs]][0]}), a layer above it"
            )
        if mine == "chapters" and path.name != "__init__.py":
            assert not name.startswith("sbcore.chapters"), (
                f"sbcore/{path.relative_to(ROOT)}:{line} imports another chapter module: {name}"
            )


def test_the_walk_catches_an_upward_import(tmp_path, monkeypatch):
    src = tmp_path / "sbcore" / "train.py"
    src.parent.mkdir()
    src.write_text(
        "from .claims import CHECKS\nfrom sbcore.chapters import start\nimport sbcore.data\n"
    )
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path / "sbcore")
    names = [n for n, _ in _imports(src)]
    assert names == ["sbcore.claims", "sbcore.chapters", "sbcore.data"]
    assert [LEVEL[_top(n)] < LEVEL["train"] for n in names] == [True, True, False]
