"""instruments/ and calibration/ are pure: no module there imports lims or dashboards."""

import ast
from pathlib import Path

import pytest

from lims.settings import PROJECT_ROOT

FORBIDDEN = ("lims", "dashboards")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.lineno, node.args[0].value))
    return out


def offending(package: str) -> list[str]:
    bad = []
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        for line, name in _imports(path):
            if name.split(".")[0] in FORBIDDEN:
                bad.append(f"{path.relative_to(PROJECT_ROOT)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("package", ["instruments", "calibration"])
def test_pure_packages_do_not_import_lims_or_dashboards(package):
    assert (PROJECT_ROOT / package).is_dir()
    assert offending(package) == []


def test_the_check_sees_a_violation(tmp_path, monkeypatch):
    pkg = tmp_path / "instruments"
    pkg.mkdir()
    (pkg / "bad.py").write_text("import os\nfrom lims.services import ingest\n", encoding="utf-8")
    (pkg / "sneaky.py").write_text("import importlib\nimportlib.import_module('dashboards.app')\n",
                                   encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PROJECT_ROOT", tmp_path)
    assert offending("instruments") == ["instruments/bad.py:2 imports lims.services",
                                        "instruments/sneaky.py:2 imports dashboards.app"]
