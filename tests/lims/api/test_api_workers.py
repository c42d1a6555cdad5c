"""`lims api serve --workers 2`: two worker processes on one port, two stations uploading at
once, on SQLite and PostgreSQL: every reading stored once, the audit chain whole."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from lims.api.tokens import create_token
from lims.models import TestResult
from lims.security import audit
from lims.security.auth import SYSTEM
from tests.lims.api.conftest import T0, Api, free_port, positive, seed

LIMS = str(Path(sys.executable).parent / "lims")


def _workers_of(pid: int) -> list[int]:
    """The worker processes uvicorn started under ``pid`` (not its resource tracker)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and "spawn_main" in cmd:
            out.append(int(entry))
    return out


def _wait(api: Api, server: subprocess.Popen, workers: int) -> None:
    deadline = time.monotonic() + 180
    while True:
        assert server.poll() is None, server.communicate()[1]
        assert time.monotonic() < deadline, "lims api serve --workers did not answer"
        try:
            if (api.get("/api/v1/health", token=None).status == 200
                    and len(_workers_of(server.pid)) == workers):
                return
        except OSError:
            pass
        time.sleep(0.3)


def test_two_workers_store_two_stations_uploads_once(engine, tmp_path):
    seed(engine)
    with Session(engine) as s:
        tokens = [create_token(session=s, actor=SYSTEM, station=f"station-{k}")[0]
                  for k in range(2)]
        s.commit()
    url = engine.url.render_as_string(hide_password=False)
    port = free_port()
    env = {**os.environ, "LIMS_DATABASE_URL": url, "LIMS_VAR_DIR": str(tmp_path / "var")}
    server = subprocess.Popen([LIMS, "api", "serve", "--port", str(port), "--workers", "2",
                               "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    answers: dict[int, list] = {0: [], 1: []}
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(Api(base), server, 2)

        def station(k: int) -> None:
            api = Api(base, tokens[k])
            for b in range(4):
                items = [positive(tested_at=(T0 + timedelta(minutes=k * 100 + b * 10 + i))
                                  .isoformat(), vendor_stall=("A01", "A02")[k],
                                  sample_delta=0.45 if i % 3 else 0.10,
                                  ingest_key=f"station-{k}-batch-{b}-item-{i}")
                         for i in range(10)]
                answers[k].append(api.post("/api/v1/readings", {"readings": items}))

        threads = [threading.Thread(target=station, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        again = Api(base, tokens[0]).post("/api/v1/readings", {"readings": [
            positive(tested_at=T0.isoformat(), vendor_stall="A01", sample_delta=0.10,
                     ingest_key="station-0-batch-0-item-0")]})
    finally:
        server.terminate()   # the parent stops its workers
        server.wait(timeout=60)
    for k in range(2):
        assert [a.status for a in answers[k]] == [200] * 4, [a.body for a in answers[k]]
        assert sum(a.json["stored"] for a in answers[k]) == 40
    assert again.status == 200 and again.json["duplicates"] == 1   # the first one's, not new
    with Session(engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(TestResult)).scalar_one() == 80
        chain = audit.verify(session=s)
        assert chain.broken_at is None, chain.problem
