"""The package declares what it needs: pyproject.toml's dependencies and extras name exactly the
packages requirements.txt pins, each with the pinned version as its lower bound."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQ = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(==|>=)\s*([^\s,;<]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = REQ.match(line)
            assert m and m.group(2) == "==", f"requirements.txt pins exactly: {line!r}"
            out[_norm(m.group(1))] = m.group(3)
    return out


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    out: dict[str, set[str]] = {}
    for deps in groups.values():
        for dep in deps:
            m = REQ.match(dep)
            assert m and m.group(2) == ">=", f"pyproject.toml: give a lower bound: {dep!r}"
            out.setdefault(_norm(m.group(1)), set()).add(m.group(3))
    return out


def test_declared_dependencies_agree_with_requirements():
    pins, declared = _pins(), _declared()
    assert set(declared) == set(pins), (
        f"only in pyproject.toml: {sorted(set(declared) - set(pins))}; "
        f"only in requirements.txt: {sorted(set(pins) - set(declared))}"
    )
    for name, bounds in declared.items():
        assert bounds == {pins[name]}, f"{name}: pyproject.toml says >= {bounds}, pin {pins[name]}"


def test_the_library_needs_no_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_norm(REQ.match(d).group(1)) for d in project["dependencies"]}
    assert {"torch", "numpy", "scikit-learn", "matplotlib", "tqdm"} <= core
    assert set(project["optional-dependencies"]) == {"book", "jobs", "dev"}


def test_version_license_and_citation_agree():
    import sbcore

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert sbcore.__version__ == project["version"]
    assert project["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()
    cff = (ROOT / "CITATION.cff").read_text()
    assert f"version: {project['version']}\n" in cff and "Pitfalls of Simplicity Bias" in cff
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {project['version']} " in changelog
