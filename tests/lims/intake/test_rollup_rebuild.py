"""Issue 18: `lims rollups rebuild` works in bounded transactions, exact, and lets writers in."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from lims.intake import rollups, vendor_rollups
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.intake.rollup_rebuild import rebuild_in_slices
from lims.models import CalibrationRecord, Instrument, Market
from lims.security.auth import SYSTEM
from tests.lims.intake.test_rollups import T0, add_stalls, readings

ROOT = Path(__file__).resolve().parents[3]


def _seed(s: Session, n: int, seed: int) -> None:
    for code, county in (("M1", "东城区"), ("M2", "东城区"), ("M3", "西城区")):
        s.add(Market(code=code, name=f"{code} 市场", county=county, kind="farmers"))
    add_stalls(s)
    inst = Instrument(serial_no="SN-OK", model="RP", kind="pesticide_analyzer", driver="profile")
    s.add_all([inst, Instrument(serial_no="SN-OLD", model="RP", kind="pesticide_analyzer",
                                driver="profile")])
    s.flush()
    s.add(CalibrationRecord(instrument_id=inst.id, kind="verification", outcome="pass",
                            performed_at=T0 - timedelta(days=30), performed_by="tech",
                            due_date=date(2027, 1, 1)))
    s.commit()
    # several months of data, with re-tests (the same sample tested again) among them
    rs = readings(n, seed, start=T0 - timedelta(days=100), days=110)
    accept_readings(session=s, actor=SYSTEM, readings=rs)
    s.commit()


def _tables(conn) -> dict:
    return {name: sorted(map(tuple, conn.execute(t.select()).all()))
            for name, t in rollups._TABLES.items()}


def test_sliced_rebuild_equals_the_incremental_rollups(session):
    _seed(session, 160, 21)
    engine = session.get_bind()
    before = _tables(session.connection())
    assert len({r[1] for r in before["rollup_market_week"]}) > 8   # many weeks, several slices
    assert before["rollup_vendor_week"] and before["rollup_vendor_month"]
    session.commit()
    with engine.begin() as c:   # spoil flags and groups: the rebuild must put them right
        c.execute(rollups._T.update().values(counts=False, count_date=None, count_week=None)
                  .where(rollups._T.c.id.in_(sa.select(rollups._T.c.id).limit(9))))
        c.execute(rollups.W.delete().where(rollups.W.c.week_start == before[
            "rollup_market_week"][0][1]))
        c.execute(rollups.P.update().values(passed=rollups.P.c.passed + 5))
        c.execute(rollups.D.insert().values(market_key=0, local_date=date(2020, 1, 1),
                                            week_start=date(2019, 12, 30), passed=1, failed=0,
                                            invalid=0))
        c.execute(vendor_rollups.VW.update().values(passed=vendor_rollups.VW.c.passed + 2))
        c.execute(vendor_rollups.VM.insert().values(month_start=date(2020, 1, 1), vendor_id=1,
                                                    passed=1, failed=0, invalid=0))
    seen: list[tuple] = []
    counts = rebuild_in_slices(engine=engine, samples_per_slice=17, weeks_per_slice=3,
                               progress=lambda *a: seen.append(a))
    with Session(engine) as s:
        assert _tables(s.connection()) == before and rollups.check(session=s) == []
    assert counts == {name: len(rows) for name, rows in before.items()}
    stages = [a[0] for a in seen]
    assert stages.count("samples") > 3 and stages.count("weeks") > 2
    assert stages.count("months") > 3 and stages[-1] == "months"
    assert stages.index("weeks") > max(i for i, st in enumerate(stages) if st == "samples")


_REBUILDER = """
import sys, time
from pathlib import Path
from lims.intake.rollup_rebuild import rebuild_in_slices
from lims.storage.engine import make_engine

url, folder = sys.argv[1], Path(sys.argv[2])
paused = set()

def progress(stage, done, total):
    if stage in paused:
        return
    paused.add(stage)   # after the first slice of each phase: let the test write, then go on
    (folder / f"paused-{stage}").touch()
    deadline = time.monotonic() + 30
    while not (folder / f"go-{stage}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)

rebuild_in_slices(engine=make_engine(url), samples_per_slice=10, weeks_per_slice=2,
                  progress=progress)
"""


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {path.name}"
        time.sleep(0.01)


def test_another_process_commits_between_slices(sqlite_engine, sqlite_url, tmp_path):
    with Session(sqlite_engine) as s:
        _seed(s, 120, 22)
    sqlite_engine.dispose()
    # a writer that gives up after 0.2 s: it succeeds only when no transaction holds the lock
    impatient = sa.create_engine(sqlite_url, connect_args={"timeout": 0.2})
    proc = subprocess.Popen([sys.executable, "-c", _REBUILDER, sqlite_url, str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for i, stage in enumerate(("samples", "weeks")):
            _wait_for(tmp_path / f"paused-{stage}", proc)
            with Session(impatient) as s:   # a reading in a week already recomputed
                rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
                    method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.3},
                    tested_at=T0 - timedelta(days=99), market="M1", commodity="小白菜",
                    ingest_key=f"during-{i}")])
                s.commit()
            assert len(rep.stored) == 1
            (tmp_path / f"go-{stage}").touch()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        impatient.dispose()
    with Session(sqlite_engine) as s:
        assert rollups.check(session=s) == []
