"""The registry of method kinds and the one dispatcher every verdict goes through.

The kinds are data: ``lims/refdata/method_kinds.toml`` maps each kind name to the module that
judges it, one line per kind (``enzyme_inhibition = "lims.verdicts.enzyme"``). The module defines
``KIND = MethodKindSpec(...)``; it is imported the first time the kind is used.

* ``judge_reading(kind, raw, params, *, method_code, …)`` — judge one reading; used by the intake
  pipeline, corrections and ``lims verdict``, so every path gets the same warnings;
* ``kinds()`` / ``raw_keys(kind)`` / ``kind_spec(kind)`` / ``check_params(kind, …)``;
* ``register_kind(name, module)`` — the same as one more line in the data file (plug-ins, tests);
  ``register_kinds_file(path)`` reads such lines from another file; ``unregister_kind`` and
  ``reset_kinds`` undo them.

An unknown kind raises ``UnknownMethodKind`` naming it and the known ones.
"""

from __future__ import annotations

import importlib
import threading
import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from lims.verdicts.core import Limit, Verdict
from lims.verdicts.spec import AnalyteInfo, CommodityInfo, JudgeContext, MethodKindSpec

KINDS_FILE = Path(__file__).resolve().parent.parent / "refdata" / "method_kinds.toml"


class UnknownMethodKind(ValueError):
    """A method kind that no line of the method-kind table names."""


_lock = threading.RLock()
_modules: dict[str, str] | None = None      # kind name → module path, in file order
_specs: dict[str, MethodKindSpec] = {}      # kinds imported so far


def read_kinds_file(path: Path) -> dict[str, str]:
    """``kind = "module.path"`` lines of a TOML file; ValueError names the file and the line."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    table: dict[str, str] = {}
    for name, module in data.items():
        if not isinstance(module, str) or not module.strip():
            raise ValueError(f"{path}: kind {name!r} must name a module, e.g. "
                             f'{name} = "lims.verdicts.{name}"')
        table[name] = module.strip()
    return table


def _table() -> dict[str, str]:
    global _modules
    with _lock:
        if _modules is None:
            _modules = read_kinds_file(KINDS_FILE)
        return _modules


def _import(name: str, module: str) -> MethodKindSpec:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"method kind {name!r}: cannot import {module!r}: {exc}") from None
    spec = getattr(mod, "KIND", None)
    if not isinstance(spec, MethodKindSpec):
        raise ValueError(f"method kind {name!r}: module {module!r} defines no "
                         "KIND = MethodKindSpec(...)")
    if spec.name != name:
        raise ValueError(f"method kind {name!r}: module {module!r} declares kind {spec.name!r}")
    return spec


def kinds() -> tuple[str, ...]:
    """The names of every registered method kind (the valid values of ``method.kind``)."""
    return tuple(_table())


def kind_spec(kind: str) -> MethodKindSpec:
    """The spec of ``kind``; UnknownMethodKind names the kind and the known ones."""
    name = kind if type(kind) is str else str(kind)
    spec = _specs.get(name)   # (one dict read: no lock for the kinds already imported)
    if spec is not None:
        return spec
    with _lock:
        spec = _specs.get(name)
        if spec is not None:
            return spec
        table = _table()
        if name not in table:
            raise UnknownMethodKind(f"unknown method kind {name!r}; known kinds: "
                                    f"{', '.join(table)}")
        spec = _specs[name] = _import(name, table[name])
        return spec


def raw_keys(kind: str) -> tuple[str, ...]:
    """The raw values a reading of ``kind`` must carry."""
    return kind_spec(kind).raw_keys


def check_params(kind: str, params: dict[str, Any], code: str) -> list[tuple[str, str]]:
    """(parameter, problem) pairs for a method's parameters; may raise ParameterError."""
    spec = kind_spec(kind)
    return spec.check_params(params, code) if spec.check_params is not None else []


def register_kind(name: str, module: str) -> MethodKindSpec:
    """Add (or replace) one kind, exactly as the line ``name = "module"`` in the data file would.
    The module is imported now, so a bad line fails here and not at the first reading."""
    spec = _import(name, module)
    with _lock:
        _table()[name] = module
        _specs[name] = spec
    return spec


def register_kinds_file(path: Path) -> tuple[str, ...]:
    """Register every line of another method-kind file; returns the kinds it named."""
    table = read_kinds_file(path)
    for name, module in table.items():
        register_kind(name, module)
    return tuple(table)


def unregister_kind(name: str) -> None:
    """Forget one kind for the rest of the process (a kind registered by a test)."""
    with _lock:
        _table().pop(name, None)
        _specs.pop(name, None)


def reset_kinds() -> None:
    """Forget run-time registrations: the data file is read again at the next use."""
    global _modules
    with _lock:
        _modules = None
        _specs.clear()


def judge_reading(kind: str, raw: dict[str, Any] | None, params: dict[str, Any] | None, *,
                  method_code: str, commodity: Any = None, analyte: Any = None,
                  on: date | None = None,
                  limit_for: Callable[[Any, Any, date | None, str | None], Limit | None]
                  | None = None,
                  standard: str | None = None) -> Verdict:
    """Judge one reading of a method of ``kind`` with the method's ``params``.

    ``commodity`` / ``analyte`` are database rows or ``CommodityInfo`` / ``AnalyteInfo``;
    ``limit_for(analyte, commodity, on, standard)`` finds the MRL (called only by kinds that
    need one, with the objects given here).
    """
    spec = kind_spec(kind)
    find_limit = None
    if limit_for is not None and analyte is not None and commodity is not None:
        def find_limit() -> Limit | None:
            return limit_for(analyte, commodity, on, standard)
    ctx = JudgeContext(method_code=method_code, commodity=CommodityInfo.of(commodity),
                       analyte=AnalyteInfo.of(analyte), on=on, standard=standard,
                       find_limit=find_limit)
    return spec.judge(dict(raw or {}), dict(params or {}), ctx)
