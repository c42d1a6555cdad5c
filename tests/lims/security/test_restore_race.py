"""`lims restore` while other processes write (issue 18, "restore race"), with real processes.

A writer process commits ~40 rows/s through the engine while `lims restore` runs three times:
every row it saw committed is in the final database or in one of the pre-restore safety copies
(nothing falls between the safety copy and the copy-in). A `lims listen` process fed over a pty
keeps running across a restore: the readings it stored after the backup are stored again by the
journal replay the restore does by itself.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.models import TestResult
from lims.security.auth import SYSTEM
from lims.security.backup import backup_database
from lims.storage import maintenance
from lims.storage.engine import make_engine
from tests.lims.listening.listener_helpers import Pty, add_instrument, wait_for

LIMS = str(Path(sys.executable).parent / "lims")
SN = "KJ12-0001"

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from lims.storage.engine import make_engine
    from lims.storage.maintenance import MaintenanceLocked
    url, out, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    engine = make_engine(url)
    n, refused = 0, 0
    with out.open("a") as fh:
        while not stop.exists():
            n += 1
            while True:
                try:
                    with engine.begin() as c:
                        c.exec_driver_sql("INSERT INTO probe_row (n) VALUES (?)", (n,))
                    break
                except MaintenanceLocked:
                    refused += 1              # refused: retried, never counted as committed
                    time.sleep(0.05)
            fh.write(f"{n}\\n")
            fh.flush()
            time.sleep(0.025)
    print(f"refused {refused}", file=sys.stderr)
""")


def _rows(db: Path) -> set[int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {r[0] for r in con.execute("SELECT n FROM probe_row")}
    finally:
        con.close()


def _restore(env: dict, backup: Path) -> str:
    proc = subprocess.run([LIMS, "restore", str(backup), "--yes"], env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_restore_loses_no_row_committed_by_another_process(env_db, sqlite_engine, tmp_path):
    db = Path(sqlite_engine.url.database)
    var = tmp_path / "var"
    with sqlite_engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE probe_row (n INTEGER PRIMARY KEY)")
    backup = tmp_path / "base.sqlite3"
    backup_database(engine=sqlite_engine, actor=SYSTEM, out=backup)
    env = {**os.environ, "LIMS_DATABASE_URL": env_db, "LIMS_VAR_DIR": str(var)}
    out, stop = tmp_path / "committed.txt", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, env_db, str(out), str(stop)],
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: out.exists() and len(out.read_text().split()) > 20)
        for _ in range(3):
            _restore(env, backup)
            before = len(out.read_text().split())
            wait_for(lambda b=before: len(out.read_text().split()) > b + 10)   # writes resume
    finally:
        stop.touch()
        _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    committed = {int(x) for x in out.read_text().split()}
    safety = sorted((var / "backups").glob("pre-restore-*.sqlite3"))
    assert len(safety) == 3
    kept = _rows(db).union(*(_rows(p) for p in safety))
    assert committed - kept == set(), f"rows committed but in no file: {sorted(committed - kept)}"
    assert len(committed) > 100
    assert max(committed) in _rows(db)       # the writer carried on in the restored database


def test_a_writer_waits_then_is_refused_with_a_clear_message(sqlite_engine, monkeypatch):
    db = Path(sqlite_engine.url.database).resolve()
    monkeypatch.setattr(maintenance, "WAIT_SECONDS", 0.3)
    other = make_engine(f"sqlite:///{db}")   # another process's engine, as far as locks go
    with sqlite_engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE probe_row (n INTEGER PRIMARY KEY)")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from lims.storage.maintenance import exclusive
        with exclusive(Path({str(db)!r})):
            print("held", flush=True)
            time.sleep(3)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with Session(other) as s:        # reading is fine during a restore
            assert s.exec(select(func.count()).select_from(TestResult)).one() == 0
        start = time.monotonic()
        with pytest.raises(maintenance.MaintenanceLocked) as err:
            with other.begin() as c:
                c.exec_driver_sql("INSERT INTO probe_row (n) VALUES (1)")
        assert time.monotonic() - start >= 0.3
        assert str(err.value) == "maintenance: a restore is running, try again in a moment"
        assert isinstance(err.value, sa.exc.OperationalError)   # a listener backs off and retries
    finally:
        holder.wait(30)
        other.dispose()
    with other.begin() as c:                                   # lock released: writes again
        c.exec_driver_sql("INSERT INTO probe_row (n) VALUES (2)")


def _count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(TestResult)).one()


def test_restore_replays_what_a_running_listener_stored_after_the_backup(env_db, sqlite_engine,
                                                                         tmp_path):
    var = tmp_path / "var"
    add_instrument(sqlite_engine, SN)
    env = {**os.environ, "LIMS_DATABASE_URL": env_db, "LIMS_VAR_DIR": str(var)}
    pty = Pty()
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=8, interval=0.05, seed=11,
                           byte_time=0.001)

    written = bytearray()

    def drive(messages: int) -> None:
        """Feed the simulator's bytes until its first ``messages`` messages are all written."""
        deadline = time.monotonic() + 60
        while not (len(sim.sent) >= messages
                   and len(written) >= sum(len(m.wire) for m in sim.sent[:messages])):
            assert time.monotonic() < deadline, "simulator stalled"
            out = sim.poll(time.monotonic())
            if out:
                os.write(pty.master, out)
                written.extend(out)
            time.sleep(0.001)

    log = tmp_path / "listen.log"
    fh = log.open("w")
    listener = subprocess.Popen([LIMS, "listen", "--instrument", SN, "--port", pty.path],
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: f"port {pty.path} open" in log.read_text() or listener.poll() is not None,
                 60)
        assert listener.poll() is None, log.read_text()
        drive(3)
        wait_for(lambda: _count(sqlite_engine) >= 3, 60)
        n_backup = _count(sqlite_engine)
        backup = tmp_path / "before.sqlite3"
        backup_database(engine=sqlite_engine, actor=SYSTEM, out=backup)
        drive(6)
        wait_for(lambda: _count(sqlite_engine) >= 6, 60)
        n_before_restore = _count(sqlite_engine)
        assert n_before_restore > n_backup
        printed = _restore(env, backup)
        assert _count(sqlite_engine) == n_before_restore     # replayed, none twice
        assert "stored again" in printed
        drive(8)
        wait_for(lambda: sim.done and _count(sqlite_engine) == 8, 60)
        assert listener.poll() is None, log.read_text()      # the listener never stopped
    finally:
        listener.terminate()
        listener.wait(30)
        fh.close()
        pty.close()
    with Session(sqlite_engine) as s:
        keys = s.exec(select(TestResult.ingest_key)).all()
    assert len(keys) == len(set(keys)) == 8
