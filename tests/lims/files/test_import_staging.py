"""Issue 18: a file import of several chunks is staged and published in one step.

Before, the chunks committed so far were ordinary, counted results: a crash half-way left half a
file in the pass rates (and on boards, exports and sync) until someone imported it again. Now
nothing of the file is visible until the whole of it is in, and the published state equals what
one transaction for the whole file would have stored.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.bench import import_bench
from lims.errors import Conflict
from lims.files import import_publish, import_stream, results_export
from lims.files.results_import import import_results
from lims.intake import corrections, rollups
from lims.models import Alert, EnforcementCase, ImportStage, Sample, TestResult, Vendor
from lims.security import seals
from lims.security.auth import SYSTEM
from tests.conftest import _ready_engine

_T = TestResult.__table__.c
HEADER = [*import_bench.HEADER, "sample_code"]


def _mixed_csv(path: Path, n: int, start: datetime = datetime(2026, 3, 2, 8, 0)) -> Path:
    """``n`` enzyme readings from 2026-03-02 on: mostly negatives (new samples), every 37th a
    positive screen re-tested twice (confirmed: a case and an alert) and every 53rd a positive
    re-tested once with a negative (pending), all under given sample codes."""
    rows, i, k = [], 0, 0
    while len(rows) < n:
        at = start + timedelta(minutes=len(rows))
        a0 = 0.35 + (i % 250) / 1000
        if i % 37 == 5 or i % 53 == 7:
            code = f"P{start:%d}{k:05d}"
            k += 1
            second = a0 * 0.3 if i % 37 == 5 else a0 * 0.9
            for j, sd in enumerate((a0 * 0.3, a0 * 0.3, second)):
                rows.append(["IMP-01", "A01", "小白菜", "ENZ-5009.199",
                             (at + timedelta(seconds=j)).strftime("%Y-%m-%d %H:%M:%S"), "刘敏",
                             f"{a0:.4f}", f"{sd:.4f}", "", code])
        else:
            rows.append(["IMP-01", "A01", "小白菜", "ENZ-5009.199",
                         at.strftime("%Y-%m-%d %H:%M:%S"), "刘敏", f"{a0:.4f}",
                         f"{a0 * 0.8:.4f}", "阴性", ""])
        i += 1
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows[:n])
    return path


def _state(engine) -> dict:
    """What a reader can see, independent of ids."""
    with Session(engine) as s:
        key_of = dict(s.execute(sa.select(_T.id, _T.ingest_key)).all())
        results = sorted((r.ingest_key, r.status, r.verdict, r.counts, str(r.count_week),
                          key_of.get(r.retest_of_id)) for r in s.execute(sa.select(
                              _T.ingest_key, _T.status, _T.verdict, _T.counts, _T.count_week,
                              _T.retest_of_id)))
        tables = {name: sorted(tuple(x for x in row) for row in s.connection().execute(
            sa.select(*[c for c in t.c if c.name not in ("id", "updated_at")])).all())
            for name, t in rollups._TABLES.items()}
        cases = sorted(key_of[c.result_id] for c in s.exec(select(EnforcementCase)))
        alerts = sorted(key_of[a.result_id] for a in s.exec(select(Alert)))
        grade = s.exec(select(Vendor.credit_grade)).first()
        assert rollups.check(session=s) == []
    return {"results": results, "rollups": tables, "cases": cases, "alerts": alerts,
            "grade": grade}


@pytest.fixture
def db(sqlite_engine):
    import_bench.add_place(sqlite_engine)
    return sqlite_engine


def _with_retests_of(path: Path, code: str) -> Path:
    """Two re-tests (positive) of an existing sample ``code`` in the middle of the file: their
    sample is counted again at the publish (``recount``)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    extra = [f"IMP-01,A01,小白菜,ENZ-5009.199,2026-03-01 09:0{i}:00,刘敏,0.5,0.15,,{code}\n"
             for i in (1, 2)]
    mid = len(lines) // 2
    path.write_text("".join(lines[:mid] + extra + lines[mid:]), encoding="utf-8")
    return path


def test_staged_import_publishes_what_one_transaction_stores(db, tmp_path, monkeypatch):
    monkeypatch.setattr(import_publish, "APPLY_CHUNK", 50)    # several steps of each
    monkeypatch.setattr(import_publish, "RESEAL_CHUNK", 120)
    pre = _mixed_csv(tmp_path / "pre.csv", 3, start=datetime(2026, 3, 1, 8, 0))
    pre.write_text(pre.read_text(encoding="utf-8").replace(
        "\n", "\n", 1).splitlines(keepends=True)[0] +
        "IMP-01,A01,小白菜,ENZ-5009.199,2026-03-01 09:00:00,刘敏,0.5,0.15,,PRE00001\n",
        encoding="utf-8")   # an earlier positive screen (sample PRE00001)
    f = _with_retests_of(_mixed_csv(tmp_path / "mixed.csv", 900), "PRE00001")
    other = _ready_engine(f"sqlite:///{tmp_path / 'one.sqlite3'}")
    import_bench.add_place(other)
    for eng in (other, db):
        with Session(eng) as s:
            import_results(session=s, actor=SYSTEM, path=pre)
            s.commit()
    with Session(other) as s:   # one chunk: one transaction, as before staging
        one = import_results(session=s, actor=SYSTEM, path=f, chunk_rows=100_000)
        s.commit()
    with Session(db) as s:
        staged = import_results(session=s, actor=SYSTEM, path=f, chunk_rows=200)
        s.commit()
    assert (staged.created, staged.cases, staged.alerts) == (one.created, one.cases, one.alerts)
    assert one.cases > 0 and one.alerts > 0 and staged.verdicts == one.verdicts
    want, got = _state(other), _state(db)
    assert got == want and want["rollups"]["rollup_market_week"]
    with Session(db) as s:
        assert s.exec(select(ImportStage)).all() == []
        assert seals.verify(session=s).ok
        pre_id = s.exec(select(Sample.id).where(Sample.code == "PRE00001")).one()
        assert len(s.exec(select(TestResult).where(TestResult.sample_id == pre_id)).all()) == 3


def _visible(engine) -> tuple[int, int, int]:
    """(results not staged, rollup rows, rows a file export would write) as another
    connection sees them."""
    with Session(engine) as s:
        shown = s.execute(sa.select(sa.func.count()).where(_T.status != "staged")).scalar_one()
        roll = s.execute(sa.select(sa.func.count()).select_from(
            rollups._TABLES["rollup_market_week"])).scalar_one()
        exported = len(s.execute(results_export.export_query(s, None, None, None)).all())
    return shown, roll, exported


def test_nothing_is_visible_before_the_publish(engine, tmp_path):
    import_bench.add_place(engine)
    f = _mixed_csv(tmp_path / "m.csv", 700)
    seen: dict[int, tuple] = {}

    def progress(stage: str, n: int) -> None:
        if stage == "stored" and n < 700:
            seen[n] = _visible(engine)

    with Session(engine) as s:
        rep = import_results(session=s, actor=SYSTEM, path=f, chunk_rows=250, progress=progress)
        s.commit()
    assert len(seen) == 2 and set(seen.values()) == {(0, 0, 0)}   # two chunks in: nothing shown
    assert _visible(engine) == (700, _visible(engine)[1], 700) and _visible(engine)[1] > 0
    assert rep.created == 700


class _Crash(Exception):
    pass


def test_a_stopped_import_is_invisible_then_completed_or_discarded(db, tmp_path):
    f = _mixed_csv(tmp_path / "c.csv", 600)

    def crash(stage: str, n: int) -> None:
        if stage == "stored" and n >= 200:
            raise _Crash

    with Session(db) as s, pytest.raises(_Crash):
        import_results(session=s, actor=SYSTEM, path=f, chunk_rows=200, progress=crash)
    assert _visible(db)[0] == 0
    with Session(db) as s:
        staged = s.exec(select(TestResult).where(TestResult.status == "staged")).all()
        assert len(staged) >= 200
        with pytest.raises(Conflict, match="not published"):   # no change before the publish
            corrections.void_result(session=s, actor=SYSTEM, result_id=staged[0].id,
                                    reason="wrong stall")
        [p] = import_publish.pending(s)
        assert (p.phase, p.results) == ("staged", len(staged))
        # the same file again: the staged rows are kept and published with the rest
        rep = import_results(session=s, actor=SYSTEM, path=f, chunk_rows=200)
        s.commit()
    assert rep.notes and rep.notes[-1].startswith("resuming")
    assert (rep.created, rep.duplicates) == (600 - len(staged), len(staged))
    assert _visible(db)[0] == 600 and _state(db)["results"]

    # another file (other days: other ingest keys) stops; its staged rows are discarded
    g = _mixed_csv(tmp_path / "d.csv", 500, start=datetime(2026, 4, 6, 8, 0))
    with Session(db) as s, pytest.raises(_Crash):
        import_results(session=s, actor=SYSTEM, path=g, chunk_rows=200, progress=crash)
    with Session(db) as s:
        sha = import_stream.file_sha256(g)
        n = import_publish.discard(session=s, actor=SYSTEM, import_sha=sha,
                                   reason="wrong file")
        s.commit()
        assert n >= 200
        assert s.execute(sa.select(sa.func.count()).where(_T.status == "staged")).scalar() == 0
        assert seals.verify(session=s).ok
    assert _visible(db)[0] == 600 + n and _state(db)["rollups"]   # voided: kept, not counted


def test_a_killed_import_shows_nothing_and_the_next_run_completes_it(db, tmp_path):
    """A real process killed with SIGKILL part-way through storing (issue 18, with real
    processes): nobody sees part of the file; importing it again publishes all of it."""
    f = import_bench.write_csv(tmp_path / "k.csv", 6000)
    url = str(db.url)
    proc = subprocess.Popen([sys.executable, "-m", "lims.bench.import_bench", url, str(f)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with Session(db) as s:
                n = s.execute(sa.select(sa.func.count()).select_from(
                    ImportStage.__table__)).scalar_one()
            if n >= 2000 or proc.poll() is not None:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    assert _visible(db) == (0, 0, 0) and n >= 2000
    with Session(db) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Sample.__table__)).scalar() > 0
        rep = import_results(session=s, actor=SYSTEM, path=f)
        s.commit()
    assert rep.notes[-1].startswith("resuming") and rep.created + rep.duplicates == 6000
    assert _visible(db)[0] == 6000 and _visible(db)[2] == 6000
    with Session(db) as s:
        assert import_publish.pending(s) == [] and rollups.check(session=s) == []


@pytest.mark.postgres
def test_a_second_importer_of_the_same_file_is_refused_while_the_first_runs(pg_url, tmp_path):
    """Two people (or a person and a script) import one file into the central database at
    once: the second is refused at once, naming the file, and stores nothing; the first
    completes; the same file again afterwards adds nothing twice."""
    import threading

    engine = _ready_engine(pg_url)
    import_bench.add_place(engine)
    f = _mixed_csv(tmp_path / "twice.csv", 600)
    first_chunk_in, go_on = threading.Event(), threading.Event()
    out: dict = {}

    def slow(stage: str, n: int) -> None:
        if stage == "stored" and not first_chunk_in.is_set():
            first_chunk_in.set()
            assert go_on.wait(60)

    def first() -> None:
        with Session(engine) as s:
            out["first"] = import_results(session=s, actor=SYSTEM, path=f, chunk_rows=200,
                                          progress=slow)
            s.commit()

    t = threading.Thread(target=first)
    t.start()
    try:
        assert first_chunk_in.wait(120)
        with Session(engine) as s, pytest.raises(Conflict) as refused:
            import_results(session=s, actor=SYSTEM, path=f, chunk_rows=200)
        assert "twice.csv is being imported by another process now" in str(refused.value)
        with Session(engine) as s:   # the first one's chunk, staged; nothing of the second
            assert s.execute(sa.select(sa.func.count()).select_from(TestResult)).scalar() == 200
    finally:
        go_on.set()
        t.join(120)
    assert out["first"].created == 600
    with Session(engine) as s:
        again = import_results(session=s, actor=SYSTEM, path=f, chunk_rows=200)
        s.commit()
        assert (again.created, again.duplicates) == (0, 600)
        assert s.execute(sa.select(sa.func.count()).select_from(TestResult)).scalar() == 600
        assert s.exec(select(ImportStage)).all() == []
    engine.dispose()
