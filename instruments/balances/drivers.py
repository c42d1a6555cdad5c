"""Registers the balance drivers: ad, ad-indicator, mtsics, sbi, ohaus."""

from __future__ import annotations

from instruments.balances import ad, mtsics, ohaus, sbi
from instruments.balances.lines import LineDecoder
from instruments.balances.simulators import SIMULATORS, BalanceSimulator
from instruments.registry import DriverSpec, register

DECODERS: dict[str, type[LineDecoder]] = {
    "ad": ad.AdDecoder, "ad-indicator": ad.AdIndicatorDecoder, "mtsics": mtsics.MtsicsDecoder,
    "sbi": sbi.SbiDecoder, "ohaus": ohaus.OhausDecoder,
}
DESCRIPTIONS = {
    "ad": ("A&D standard format balance (HH,±DDDDDDDD UUU), 2400 7E1", ad.STANDARD_DEFAULTS),
    "ad-indicator": ("weighing indicator, two headers (ST,GS,+0012.345kg), 9600 8N1",
                     ad.INDICATOR_DEFAULTS),
    "mtsics": ("Mettler Toledo MT-SICS, 9600 8N1 Xon/Xoff", mtsics.DEFAULTS),
    "sbi": ("Sartorius SBI, 16/22 characters, 1200 7O1 RTS/CTS", sbi.DEFAULTS),
    "ohaus": ("Ohaus print output, 9600 8N1", ohaus.DEFAULTS),
}


def _decoder_factory(name: str):
    def make_decoder(profile: str | None = None, **options) -> LineDecoder:
        """``options``: line_timeout (s), max_line; mtsics: strict; ohaus: weight_width."""
        if profile:
            raise ValueError(f"the {name} driver takes no profile")
        return DECODERS[name](**options)
    return make_decoder


def _simulator_factory(name: str):
    def make_simulator(profile: str | None = None, *, faults=(), count: int | None = 10,
                       seed: int = 1, interval: float = 0.2, serial: str | None = None,
                       **options) -> BalanceSimulator:
        """``options``: mode ("stream"/"respond"), silence_seconds, restart_delay; sbi: with_id."""
        if profile:
            raise ValueError(f"the {name} driver takes no profile")
        return SIMULATORS[name](faults=faults, count=count, seed=seed, interval=interval,
                                serial=serial, **options)
    return make_simulator


for _name, (_desc, _defaults) in DESCRIPTIONS.items():
    register(DriverSpec(name=_name, description=_desc, defaults=_defaults,
                        make_decoder=_decoder_factory(_name),
                        make_simulator=_simulator_factory(_name)))
