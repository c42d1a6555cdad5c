"""Registers the ``profile`` driver: the decoder and simulator take a profile name or path."""

from __future__ import annotations

from pathlib import Path

from instruments.base import PortSettings
from instruments.profiles.decoder import ProfileDecoder
from instruments.profiles.schema import load_profile
from instruments.profiles.simulator import ProfileSimulator
from instruments.registry import DriverSpec, register


def _need(profile: str | None) -> str:
    if not profile:
        raise ValueError("the profile driver needs a profile name (e.g. enzyme-12ch, gold-reader)")
    return profile


def make_decoder(profile: str | None = None, dirs: tuple[Path, ...] = ()) -> ProfileDecoder:
    return ProfileDecoder(load_profile(_need(profile), dirs))


def make_simulator(profile: str | None = None, *, faults: tuple[str, ...] = (),
                   count: int | None = 10, interval: float = 0.2, seed: int = 1,
                   byte_time: float = 0.0, serial: str | None = None, live_clock: bool = False,
                   tested_units: tuple[str, ...] = (), dirs: tuple[Path, ...] = ()) -> ProfileSimulator:
    return ProfileSimulator(load_profile(_need(profile), dirs), count=count, interval=interval,
                            faults=tuple(faults), seed=seed, byte_time=byte_time, serial=serial,
                            live_clock=live_clock, tested_units=tuple(tested_units))


SPEC = register(DriverSpec(
    name="profile",
    description="analyzers and strip readers described by a profile file (instruments/profiles/data)",
    defaults=PortSettings(),
    make_decoder=make_decoder,
    make_simulator=make_simulator,
))
