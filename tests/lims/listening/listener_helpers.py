"""Shared pieces of the listener tests: a database with an instrument, a pty, a simulator pump."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session

from lims.listening.port import Listener
from lims.models import Instrument, Market
from tests.conftest import TZ


def add_instrument(engine, serial: str, profile: str | None = "enzyme-12ch", *,
                   driver: str = "profile", method: str | None = None,
                   market_code: str | None = "M-EAST") -> None:
    from sqlmodel import select

    from lims.models import Method

    with Session(engine) as s:
        market = s.exec(select(Market).where(Market.code == market_code)).first() \
            if market_code else None
        if market_code and market is None:
            market = Market(code=market_code, name="城东农贸市场", county="城关区", kind="farmers")
            s.add(market)
            s.flush()
        mid = s.exec(select(Method.id).where(Method.code == method)).first() if method else None
        s.add(Instrument(serial_no=serial, model="test", kind="pesticide_analyzer", driver=driver,
                         profile=profile, market_id=market.id if market else None, method_id=mid))
        s.commit()


class Pty:
    """A pty pair: the listener opens ``path`` (the slave); the simulator writes to the master."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        os.set_blocking(self.master, False)

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def pump_once(sim, master: int) -> None:
    """One step of a sans-I/O simulator on the master side: what arrived in, what is due out."""
    now = time.monotonic()
    try:
        got = os.read(master, 4096)
        if got:
            sim.receive(got, now)
    except (BlockingIOError, OSError):
        pass
    out = sim.poll(now)
    if out:
        os.write(master, out)


def pump(sim, master: int, *, until=None, timeout: float = 30.0, stop_after: float | None = None):
    """Drive a sans-I/O simulator over the master side until it is done (or ``until()``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pump_once(sim, master)
        if until is not None and until():
            return True
        if until is None and sim.done:
            return True
        if stop_after is not None and time.monotonic() - start > stop_after:
            return False
        time.sleep(0.005)
    raise AssertionError("simulator did not finish in time")


@contextmanager
def running_listener(engine, serial: str, port: str, var: Path, **kw):
    stop = threading.Event()
    lst = Listener(engine=engine, serial_no=serial, port=port, journal_root=var / "journal",
                   tz=TZ, stop=stop, reconnect_delay=0.2, **kw)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("tally", lst.run()), daemon=True)
    lst.thread = t   # tests check that it is still alive
    t.start()
    assert lst.connected.wait(20), "listener did not open the port"
    try:
        yield lst
    finally:
        stop.set()
        t.join(20)
        assert not t.is_alive()


def wait_for(cond, timeout: float = 20.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
