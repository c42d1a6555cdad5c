"""The layering rules of DEVELOPERS.md ("Layout and the direction of dependencies"), one test each.

Every import counts: module level, inside functions (lazy), relative (resolved against the
file's package), ``importlib.import_module("…")`` and ``__import__("…")`` with a literal name.
A failure lists each offence as ``path:line``. ``test_each_checker_sees_its_violation`` writes bad
files into a temporary tree to show every checker finds what it is meant to find.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
SIZED = ("lims", "instruments", "calibration", "dashboards")
# being split (issue 12): the only modules allowed over MAX_LINES, until their split lands
MODELS_MAY_IMPORT = ("lims.models", "lims.errors", "lims.timeutil", "lims.settings")


@dataclass(frozen=True)
class Imp:
    line: int
    module: str              # absolute dotted name of the module imported from
    names: tuple[str, ...]   # names taken from it (``from m import a, b``); () for ``import m``


def _module_parts(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(path: Path, root: Path = ROOT) -> list[Imp]:
    """Every import in the file, anywhere in its tree, with relative names resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_parts(path, root)
    if path.name != "__init__.py":
        package = package[:-1]
    out: list[Imp] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [Imp(node.lineno, a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            out.append(Imp(node.lineno, module, tuple(a.name for a in node.names)))
        elif (isinstance(node, ast.Call) and node.args
              and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
              in ("import_module", "__import__")
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append(Imp(node.lineno, node.args[0].value, ()))
    return out


def _targets(imp: Imp) -> list[str]:
    """The modules an import may reach: ``from lims import errors`` reaches ``lims.errors``."""
    if imp.names and "." not in imp.module:
        return [f"{imp.module}.{n}" for n in imp.names if n != "*"] or [imp.module]
    return [imp.module]


def _files(root: Path, *dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (root / d).rglob("*.py"))


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _top_level_offences(root: Path, dirs: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _files(root, *dirs):
        for imp in imports(path, root):
            hits = [t for t in _targets(imp) if t.split(".")[0] in forbidden]
            bad += [f"{_rel(path, root)}:{imp.line} imports {t}" for t in hits[:1]]
    return sorted(bad, key=_where)


# -- the checkers (root: the project, or a temporary tree in the self-test) ----------------------
def pure_packages(root: Path = ROOT) -> list[str]:
    """instruments/ and calibration/ import neither lims nor dashboards."""
    return _top_level_offences(root, ("instruments", "calibration"), ("lims", "dashboards"))


def lims_without_ui(root: Path = ROOT) -> list[str]:
    """No module under lims/ imports dashboards or streamlit."""
    return _top_level_offences(root, ("lims",), ("dashboards", "streamlit"))


def pages_without_instruments(root: Path = ROOT) -> list[str]:
    """No page under dashboards/views imports instruments."""
    return _top_level_offences(root, ("dashboards/views",), ("instruments",))


def models_leaf(root: Path = ROOT) -> list[str]:
    """lims/models imports only lims.models, lims.errors, lims.timeutil, lims.settings."""
    bad = []
    for path in _files(root, "lims/models"):
        for imp in imports(path, root):
            for t in _targets(imp):
                if t.split(".")[0] == "lims" and not any(
                        t == ok or t.startswith(ok + ".") for ok in MODELS_MAY_IMPORT):
                    bad.append(f"{_rel(path, root)}:{imp.line} imports {t}")
    return sorted(bad, key=_where)


def module_sizes(root: Path = ROOT) -> list[str]:
    """No module in lims/, instruments/, calibration/, dashboards/ is over MAX_LINES."""
    bad = []
    for path in _files(root, *SIZED):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            bad.append(f"{_rel(path, root)}:{n} lines (limit {MAX_LINES})")
    return bad


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def demo_public_only(root: Path = ROOT) -> list[str]:
    """lims/demo/ uses only public names of the other lims packages (no ``_private``)."""
    bad = []
    for path in _files(root, "lims/demo"):
        rel = _rel(path, root)
        aliases: dict[str, str] = {}         # local name → the other lims module it is bound to
        for imp in imports(path, root):
            if imp.module.split(".")[0] != "lims" or imp.module.startswith("lims.demo"):
                continue
            parts = imp.module.split(".")
            if any(_private(p) for p in parts):
                bad.append(f"{rel}:{imp.line} imports private module {imp.module}")
            for n in imp.names:
                if _private(n):
                    bad.append(f"{rel}:{imp.line} imports private name {imp.module}.{n}")
                aliases[n] = f"{imp.module}.{n}"
            if not imp.names:
                aliases[parts[0]] = parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name.startswith("lims.") and not a.name.startswith(
                            "lims.demo"):
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and _private(node.attr)
                    and (dotted := _dotted(node.value)) is not None
                    and dotted.split(".")[0] in aliases):
                target = aliases[dotted.split(".")[0]] + dotted[len(dotted.split(".")[0]):]
                if not target.startswith("lims.demo"):
                    bad.append(f"{rel}:{node.lineno} uses private name {target}.{node.attr}")
    return sorted(bad, key=_where)


def _where(offence: str) -> tuple[str, int]:
    file, line = offence.split(" ")[0].split(":")
    return file, int(line)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := _dotted(node.value)) is not None:
        return f"{base}.{node.attr}"
    return None


def _clean(offences: list[str], rule: str) -> None:
    if offences:
        pytest.fail(f"{rule}:\n  " + "\n  ".join(offences), pytrace=False)


# -- the rules, on the project ------------------------------------------------------------------
def test_instruments_and_calibration_import_neither_lims_nor_dashboards():
    assert (ROOT / "instruments").is_dir() and (ROOT / "calibration").is_dir()
    _clean(pure_packages(), "instruments/ and calibration/ must not import lims or dashboards")


def test_lims_imports_neither_dashboards_nor_streamlit():
    _clean(lims_without_ui(), "lims/ must not import dashboards or streamlit")


def test_dashboard_pages_do_not_import_instruments():
    assert (ROOT / "dashboards" / "views").is_dir()
    _clean(pages_without_instruments(), "dashboards/views must not import instruments")


def test_models_import_nothing_above_them():
    _clean(models_leaf(), f"lims/models may import only {', '.join(MODELS_MAY_IMPORT)}")


def test_no_module_over_the_size_limit():
    _clean(module_sizes(), f"modules over {MAX_LINES} lines (split them)")


def test_demo_uses_only_public_names():
    assert (ROOT / "lims" / "demo").is_dir()
    _clean(demo_public_only(), "lims/demo must use only public names of other lims packages")


# -- the checkers see violations ----------------------------------------------------------------
LAZY = "def f():\n    from {mod} import x\n    return x\n"
CASES = {
    pure_packages: (
        {"instruments/bad.py": "import os\nfrom lims.services import ingest\n",
         "instruments/sneaky.py": "import importlib\nimportlib.import_module('dashboards.app')\n",
         "calibration/lazy.py": LAZY.format(mod="lims.models"),
         "calibration/ok.py": "import numpy\nfrom calibration import curves\n"},
        ["calibration/lazy.py:2 imports lims.models", "instruments/bad.py:2 imports lims.services",
         "instruments/sneaky.py:2 imports dashboards.app"]),
    lims_without_ui: (
        {"lims/bench/probe.py": "import json\n\ndef run():\n    import streamlit as st\n",
         "lims/x/__init__.py": "from dashboards.views import board\n",
         "lims/y.py": "__import__('streamlit.runtime')\nCHILD = 'import streamlit'\n"},
        ["lims/bench/probe.py:4 imports streamlit", "lims/x/__init__.py:1 imports dashboards.views",
         "lims/y.py:1 imports streamlit.runtime"]),
    pages_without_instruments: (
        {"dashboards/views/page.py": "from lims.reporting import stats\n" + LAZY.format(
            mod="instruments.registry"),
         "dashboards/views/other.py": "from instruments import base\n",
         "dashboards/widgets.py": "import instruments\n"},      # not a page
        ["dashboards/views/other.py:1 imports instruments.base",
         "dashboards/views/page.py:3 imports instruments.registry"]),
    models_leaf: (
        {"lims/models/__init__.py": "from lims.models.people import User\n",
         "lims/models/people.py": ("from lims.errors import LimsError\nfrom lims import timeutil\n"
                                   "from lims.settings import load_settings\nfrom .enums import A\n"
                                   "from .. import verdicts\nimport sqlmodel\n"
                                   + LAZY.format(mod="lims.intake.pipeline")),
         "lims/models/enums.py": "from lims import errors, security\n"},
        ["lims/models/enums.py:1 imports lims.security", "lims/models/people.py:5 imports "
         "lims.verdicts", "lims/models/people.py:8 imports lims.intake.pipeline"]),
    module_sizes: (
        {"lims/big.py": "x = 1\n" * 401, "lims/ok.py": "x = 1\n" * 400,
         "instruments/big.py": "x = 1\n" * 500, "lims/intake/pipeline.py": "x = 1\n" * 900,
         "dashboards/views/page.py": "x = 1\n" * 401, "tests/big.py": "x = 1\n" * 900},
        ["dashboards/views/page.py:401 lines (limit 400)", "instruments/big.py:500 lines "
         "(limit 400)", "lims/big.py:401 lines (limit 400)",
         "lims/intake/pipeline.py:900 lines (limit 400)"]),
    demo_public_only: (
        {"lims/demo/loader.py": ("from lims.reporting.stats import _weekly, public\n"
                                 "from lims.models._types import JSON\n"
                                 "from lims.demo.places import _ours\nfrom . import _also_ours\n"
                                 "from lims import intake\nimport lims.field.visits as visits\n"
                                 "def f():\n    intake._secret()\n    visits._plan\n"
                                 "    from ..files import _fmt\n    return intake.__name__\n")},
        ["lims/demo/loader.py:1 imports private name lims.reporting.stats._weekly",
         "lims/demo/loader.py:2 imports private module lims.models._types",
         "lims/demo/loader.py:8 uses private name lims.intake._secret",
         "lims/demo/loader.py:9 uses private name lims.field.visits._plan",
         "lims/demo/loader.py:10 imports private name lims.files._fmt"]),
}


@pytest.mark.parametrize("check", list(CASES), ids=lambda c: c.__name__)
def test_each_checker_sees_its_violation(tmp_path, check):
    files, expected = CASES[check]
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    for d in ("lims/demo", "lims/models", "instruments", "calibration", "dashboards/views"):
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
    assert check(tmp_path) == expected
