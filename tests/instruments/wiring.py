"""In-memory wiring of simulators and decoders with a fake clock (no ports, no sleeping)."""

from __future__ import annotations

from dataclasses import dataclass, field

from instruments.base import Decoded, DecodeError, Discarded, Event, Send


def raw_of(e: Event) -> bytes:
    if isinstance(e, Decoded):
        return e.reading.raw
    if isinstance(e, Send):
        return b""
    return e.raw


def accounted(events: list[Event]) -> int:
    return sum(len(raw_of(e)) for e in events)


@dataclass
class Wire:
    events: list[Event] = field(default_factory=list)
    sent_by_sim: bytearray = field(default_factory=bytearray)
    replies: bytearray = field(default_factory=bytearray)
    t: float = 0.0

    @property
    def decoded(self):
        return [e.reading for e in self.events if isinstance(e, Decoded)]

    @property
    def errors(self):
        return [e for e in self.events if isinstance(e, DecodeError)]

    @property
    def discarded(self):
        return [e for e in self.events if isinstance(e, Discarded)]


def wire(sim, decoder, *, dt: float = 0.05, max_time: float = 3600.0, settle: float = 100.0
         ) -> Wire:
    """Run ``sim`` against ``decoder`` until the simulator is done; Send events go back to it.
    Afterwards the decoder is polled ``settle`` seconds later (timeouts flush)."""
    w = Wire()
    while not sim.done and w.t < max_time:
        out = sim.poll(w.t)
        if out:
            w.sent_by_sim += out
            evs = decoder.feed(out, w.t)
        else:
            evs = []
        evs += decoder.poll(w.t)
        for e in evs:
            if isinstance(e, Send):
                w.replies += e.data
                sim.receive(e.data, w.t)
        w.events += evs
        w.t += dt
    if not sim.done:
        raise AssertionError(f"simulator not done after {max_time} s")
    w.events += decoder.poll(w.t + settle)
    return w
