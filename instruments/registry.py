"""Driver registry: name → how to decode its bytes, its port defaults and its simulator.

``lims listen``, ``lims simulate`` and ``lims instruments decode`` look drivers up here; a new
protocol is added by registering it, a new analyzer model by a profile file (no code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from instruments.base import Decoder, PortSettings


@dataclass(frozen=True)
class DriverSpec:
    name: str
    description: str
    defaults: PortSettings
    make_decoder: Callable[..., Decoder]          # (profile: str | None = None) -> Decoder
    make_simulator: Callable[..., Any] | None = None


DRIVERS: dict[str, DriverSpec] = {}


def register(spec: DriverSpec) -> DriverSpec:
    if spec.name in DRIVERS:
        raise ValueError(f"driver {spec.name!r} registered twice")
    DRIVERS[spec.name] = spec
    return spec


def get(name: str) -> DriverSpec:
    _load_builtin()
    try:
        return DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown driver {name!r}; known: {sorted(DRIVERS)}") from None


def names() -> list[str]:
    _load_builtin()
    return sorted(DRIVERS)


_BUILTIN_MODULES: tuple[str, ...] = (
    # each module registers its drivers on import
    "instruments.profiles.driver",
    "instruments.astm.driver",
    "instruments.balances.drivers",
)


def _load_builtin() -> None:
    import importlib

    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)
