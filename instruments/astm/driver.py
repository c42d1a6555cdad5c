"""Registers the "astm" driver: ASTM E1381/E1394 over RS-232, 9600 8N1, no handshake."""

from __future__ import annotations

from instruments.astm.receiver import AstmReceiver
from instruments.astm.simulator import AstmSimulator
from instruments.base import PortSettings
from instruments.registry import DriverSpec, register

DEFAULTS = PortSettings(baudrate=9600)


def make_decoder(profile: str | None = None, **options) -> AstmReceiver:
    """``options``: timeout (s, default 30), encodings, busy, value_keys (test id → raw key)."""
    if profile:
        raise ValueError("the astm driver takes no profile")
    return AstmReceiver(**options)


def make_simulator(profile: str | None = None, *, faults=(), count: int | None = 1, seed: int = 1,
                   interval: float = 0.2, serial: str | None = None, **options) -> AstmSimulator:
    """``count`` messages (None: endless), ``faults`` by name (``simulator.FAULTS``); other
    ``options`` go to ``AstmSimulator`` (silence_seconds, restart_delay, sender_options …)."""
    if profile:
        raise ValueError("the astm driver takes no profile")
    if serial:
        options["instrument_serial"] = serial
    return AstmSimulator(faults=faults, count=count, seed=seed, interval=interval, **options)


SPEC = register(DriverSpec(
    name="astm",
    description="ASTM E1381/E1394 (CLSI LIS01/LIS2) analyzer LIS port",
    defaults=DEFAULTS,
    make_decoder=make_decoder,
    make_simulator=make_simulator,
))
