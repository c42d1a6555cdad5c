"""``bulk.among``: the chunked look-ups' ``IN`` as one parameter (an array on PostgreSQL, a JSON
array on SQLite)."""

import sqlalchemy as sa
from sqlmodel import Session

from lims.models import Market
from lims.storage.bulk import among


def _seed(session: Session) -> dict[str, int]:
    for code in ("A1", "B2", "C3", "D4"):
        session.add(Market(code=code, name=f"{code} 市场", county="东城区", kind="farmers"))
    session.commit()
    return dict(session.exec(sa.select(Market.code, Market.id)).all())


def test_the_same_rows_as_in(session):
    ids = _seed(session)
    m = Market.__table__.c
    for codes in (["A1", "C3"], ["Z9"], [], list(ids)):
        want = sorted(ids[c] for c in codes if c in ids)
        for bind in (session, session.connection()):
            got = sorted(session.execute(sa.select(m.id).where(among(bind, m.code, codes)))
                         .scalars())
            assert got == want
        got = sorted(session.execute(sa.select(m.code).where(
            among(session, m.id, [ids[c] for c in codes if c in ids]))).scalars())
        assert got == sorted(c for c in codes if c in ids)


def test_postgres_sends_one_parameter_whatever_the_count(session):
    _seed(session)
    m = Market.__table__.c
    conn = session.connection()
    texts = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        texts.append(statement)

    sa.event.listen(conn, "before_cursor_execute", keep)
    try:
        for n in (3, 500):
            session.execute(sa.select(m.id).where(among(conn, m.id, list(range(n))))).all()
    finally:
        sa.event.remove(conn, "before_cursor_execute", keep)
    assert texts[0] == texts[1]   # the same short statement, one parameter
    assert ("ANY" if conn.dialect.name == "postgresql" else "json_each") in texts[0]


def test_sqlite_other_values_fall_back_to_in(sqlite_engine):
    m = Market.__table__.c
    with Session(sqlite_engine) as s:
        clause = among(s, m.id, [1.5, 2])   # not ids nor codes: a plain IN list
        assert "json_each" not in str(clause.compile(dialect=sqlite_engine.dialect))
        assert s.execute(sa.select(m.id).where(clause)).all() == []
