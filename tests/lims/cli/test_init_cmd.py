"""`lims init` creates the schema and reference data; a second run changes nothing."""

import sqlalchemy as sa
from sqlmodel import SQLModel

import lims.models  # noqa: F401
from lims.storage.engine import make_engine


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as c:
        out = {t: c.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
               for t in SQLModel.metadata.tables}
    engine.dispose()
    return out


def test_init_twice_changes_nothing(lims, env_db):
    first = _counts(env_db)
    assert first["method"] > 0 and first["threshold"] > 0 and first["commodity"] > 0
    result = lims("init", "--json")
    assert result.exit_code == 0, result.output
    assert _counts(env_db) == first
    assert '"inserted"' in result.output


def test_init_json_reports_nothing_inserted_the_second_time(lims):
    import json

    result = lims("init", "--json")
    data = json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])
    assert set(data["inserted"].values()) == {0}
