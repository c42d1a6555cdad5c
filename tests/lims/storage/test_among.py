"""``bulk.among``: the chunked look-ups' ``IN`` — one array parameter on PostgreSQL."""

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
    if conn.dialect.name == "postgresql":
        assert texts[0] == texts[1] and "ANY" in texts[0]   # the same short statement
    else:   # SQLite: an IN list of that many
        assert texts[1].count("?") == 500 and len(texts[1]) > len(texts[0])
