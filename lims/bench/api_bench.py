"""Figures of the central server's HTTP path (issue 15): batch upload through ``POST
/api/v1/readings`` and a station's ``lims sync push`` of many results.

Both run a real uvicorn server on loopback (in a thread) on the bench database, with a fresh
station token, and send JSON over a socket as a station would; the readings are the ingest
bench's (``ingest_bench.readings``: the generated data's verdict mix, in the last week).
``api_upload_parallel``: several stations upload at once to ``lims api serve --workers N`` in
its own processes, as a central server with several cores runs it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from sqlmodel import Session

from lims.api.app import create_app
from lims.api.tokens import create_token
from lims.bench import cpu, ingest_bench
from lims.intake.pipeline import accept_readings
from lims.security.auth import SYSTEM
from lims.storage.engine import make_engine
from lims.storage.schema import upgrade
from lims.sync.http import Central
from lims.sync.pull import pull
from lims.sync.push import push


class _Server:
    def __init__(self, engine: sa.Engine):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        app = create_app(engine, rate_per_minute=0, burst=None, max_body=64 * 1024 * 1024)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> _Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def _token(engine: sa.Engine, station: str) -> str:
    with Session(engine) as s:
        token, _ = create_token(session=s, actor=SYSTEM, station=station)
        s.commit()
    return token


def _item(r) -> dict:
    item = {"method": r.method, "tested_at": r.tested_at.isoformat(), "market": r.market,
            "vendor_stall": r.vendor_stall, "commodity": r.commodity,
            "instrument": r.instrument_serial, "ingest_key": r.ingest_key, **r.raw}
    if r.analyte:
        item["analyte"] = r.analyte
    return item


def api_upload(engine: sa.Engine, n: int, batch: int = 1000, tag: str = "") -> dict:
    """``n`` readings POSTed ``batch`` at a time; readings/s per request (median, 5th pct), and
    the CPU per reading (``cpu.per_reading``: the server thread's and the bench's together, and
    PostgreSQL's)."""
    token = _token(engine, f"bench-api-{tag or int(time.time())}")
    items = [_item(r) for r in ingest_bench.readings(engine, n, seed=7,
                                                     tag=f"api{tag}{time.time_ns()}")]
    rates: list[float] = []
    meter = cpu.Meter(engine)
    with _Server(engine) as srv:
        for i in range(0, len(items), batch):
            body = json.dumps({"readings": items[i:i + batch]}).encode()
            req = urllib.request.Request(srv.url + "/api/v1/readings", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
            with meter, urllib.request.urlopen(req, timeout=600) as reply:
                answer = json.loads(reply.read())
            rates.append(len(items[i:i + batch]) / meter.last.wall)
            assert answer["stored"] + answer["duplicates"] == len(items[i:i + batch])
    return {"rates": rates,
            "cpu": cpu.per_reading(meter.total, len(items), cpu.writers(engine))}


def station_push(engine: sa.Engine, n: int, batch: int = 500) -> dict:
    """A SQLite station pulls from the server, records ``n`` readings, pushes them all."""
    token = _token(engine, f"bench-station-{int(time.time())}")
    with tempfile.TemporaryDirectory() as d, _Server(engine) as srv:
        station = make_engine(f"sqlite:///{Path(d) / 'station.sqlite3'}")
        upgrade(station)
        from lims.reference.loader import load_reference_data

        with Session(station) as s:
            load_reference_data(session=s)
            s.commit()
            pull(session=s, actor=SYSTEM, central=Central(srv.url, token))
        readings = ingest_bench.readings(engine, n, seed=11, tag=f"push{time.time_ns()}")
        for r in readings:
            r.instrument_serial = None   # the station knows the markets, not the bench's devices
        with Session(station) as s:
            for i in range(0, n, 5000):
                accept_readings(session=s, actor=SYSTEM, readings=readings[i:i + 5000])
                s.commit()
        with Session(station) as s:
            t0 = time.perf_counter()
            rep = push(session=s, actor=SYSTEM, central=Central(srv.url, token, 600),
                       batch=batch)
            seconds = time.perf_counter() - t0
        station.dispose()
    return {"seconds": seconds, "sent": rep.sent, "stored": rep.stored,
            "rate": rep.sent / seconds if seconds else None}


def _served(url: str, workers: int, var_dir: str) -> subprocess.Popen:
    """``lims api serve --workers N`` in its own process group on a free loopback port,
    answering; the caller stops it (``_stop``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LIMS_DATABASE_URL": url, "LIMS_VAR_DIR": var_dir}
    log = Path(var_dir) / "serve.log"   # (a file: a pipe nobody reads could fill and block it)
    with log.open("wb") as err:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "lims"), "api", "serve",
                                 "--port", str(port), "--workers", str(workers), "--rate-limit",
                                 "0", "--log-level", "warning"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    proc.url = f"http://127.0.0.1:{port}"   # type: ignore[attr-defined]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("lims api serve stopped: "
                               + log.read_text(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(proc.url + "/api/v1/health", timeout=2) as reply:
                if reply.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    _stop(proc)
    raise RuntimeError("lims api serve did not answer within 180 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()   # the parent stops its workers (a signal to all at once can hang it)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def api_upload_parallel(engine: sa.Engine, n: int, *, stations: int, workers: int,
                        batch: int = 1000, markets: int = 20, instruments: int = 3) -> dict:
    """``stations`` stations upload ``n`` readings between them at once (each its own token and
    county: ``markets`` markets, ``instruments`` devices), ``batch`` per request, to ``lims api
    serve --workers N`` in its own processes. Returns the aggregate readings/s (all readings ÷
    first request to last answer), each request's readings/s, the share of the machine's cores
    busy meanwhile, and the CPU per reading of the workers and of PostgreSQL (``cpu``)."""
    url = engine.url.render_as_string(hide_password=False)
    per = n // stations
    tag = f"par{time.time_ns():x}"
    work = [(_token(engine, f"bench-par-{tag}-{k}"),
             [_item(r) for r in ingest_bench.readings(engine, per, seed=100 + k, tag=f"{tag}{k}",
                                                      markets=markets,
                                                      instruments=instruments)])
            for k in range(stations)]
    rates: list[float] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as var_dir:
        proc = _served(url, workers, var_dir)
        try:
            start = threading.Barrier(stations + 1)

            def station(token: str, items: list[dict]) -> None:
                start.wait()
                for i in range(0, len(items), batch):
                    body = json.dumps({"readings": items[i:i + batch]}).encode()
                    req = urllib.request.Request(
                        proc.url + "/api/v1/readings", data=body, method="POST",
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/json"})
                    t0 = time.perf_counter()
                    try:
                        with urllib.request.urlopen(req, timeout=600) as reply:
                            answer = json.loads(reply.read())
                    except OSError as exc:
                        errors.append(f"{exc}")
                        return
                    rates.append(len(items[i:i + batch]) / (time.perf_counter() - t0))
                    if answer["stored"] != len(items[i:i + batch]):
                        errors.append(f"stored {answer['stored']} of {len(items[i:i + batch])}")

            threads = [threading.Thread(target=station, args=w) for w in work]
            for t in threads:
                t.start()
            meter = cpu.Meter(engine)
            served = cpu.tree_cpu(proc.pid)
            with meter:
                start.wait()
                for t in threads:
                    t.join()
            seconds = meter.last.wall
            after = cpu.tree_cpu(proc.pid)
            served = None if served is None or after is None else after - served
        finally:
            _stop(proc)
    if errors:
        raise RuntimeError(f"parallel upload failed: {errors[:3]}")
    n = per * stations
    return {"rate": n / seconds, "seconds": seconds, "rates": rates, "busy": meter.last.busy,
            "workers_us": None if served is None else served / n * 1e6,
            "server_us": None if meter.last.server is None else meter.last.server / n * 1e6}
