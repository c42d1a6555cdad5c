"""Issue 18: bench data is sealed like ingested results, so `lims audit verify` passes on it."""

from sqlmodel import Session, select

from lims.bench import datagen
from lims.models import AuditEvent
from lims.security import seals
from lims.storage.engine import make_engine


def test_generated_results_pass_seal_verification(tmp_path, monkeypatch):
    monkeypatch.setattr(datagen, "CHUNK", 1000)   # three chunks: three chained seal events
    engine = make_engine(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    try:
        datagen.generate(engine, 3000)
        with Session(engine) as s:
            report = seals.verify(session=s)
            assert report.ok and report.results == 3000, report.problems
            events = s.exec(select(AuditEvent).where(AuditEvent.action == seals.SEAL_ACTION)).all()
            assert [e.entity_id for e in events] == ["1-1000", "1001-2000", "2001-3000"]
    finally:
        engine.dispose()
