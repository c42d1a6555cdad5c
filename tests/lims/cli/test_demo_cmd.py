"""`lims demo`: every market kind, positives, held results, reproducible, --if-empty."""

from __future__ import annotations

import json

import sqlalchemy as sa

from lims.models.enums import MarketKind
from lims.storage.engine import engine_for, make_engine

SMALL = ("demo", "--markets", "4", "--days", "10", "--until", "2026-08-10", "--seed", "7")


def _q(url: str, sql: str):
    engine = make_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.text(sql)).all()
    engine.dispose()
    return rows


def _fingerprint(url: str):
    return _q(url, """
        SELECT s.code, m.code, m.name, v.stall, v.licence_no, v.credit_grade, c.name_zh, me.code,
               t.raw, t.tested_at, t.verdict, t.status, t.channel, t.tested_by,
               t.retest_of_id IS NOT NULL
        FROM test_result t JOIN sample s ON s.id = t.sample_id
        JOIN commodity c ON c.id = t.commodity_id JOIN method me ON me.id = t.method_id
        LEFT JOIN market m ON m.id = t.market_id LEFT JOIN vendor v ON v.id = s.vendor_id
        ORDER BY t.id""")


def test_small_demo(lims, env_db):
    result = lims(*SMALL, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])
    assert report["counts"]["markets"] == 16
    kinds = {k for (k,) in _q(env_db, "SELECT DISTINCT kind FROM market")}
    assert kinds == {k.value for k in MarketKind}
    verdicts = dict(_q(env_db, "SELECT verdict, COUNT(*) FROM test_result GROUP BY verdict"))
    assert verdicts.get("positive", 0) > 0 and verdicts.get("negative", 0) > verdicts["positive"]
    held = _q(env_db, "SELECT calibration_state, COUNT(*) FROM test_result WHERE status = 'held' "
                      "GROUP BY calibration_state")
    assert {s for s, _ in held} - {"ok"} == {"overdue", "failed"}
    # held with a sound calibration: only by the QC gate (a daily QC run Westgard rejected),
    # the kit gate (an expired lot) or as a recent lab result awaiting release; each says so
    for (reasons,) in _q(env_db, "SELECT verdict_reasons FROM test_result WHERE status = 'held' "
                                 "AND calibration_state = 'ok'"):
        assert "QC" in reasons or "kit lot" in reasons or "second-person release" in reasons, \
            reasons
    # positives are followed up: rapid re-tests and lab results linked to the screen
    linked = _q(env_db, """SELECT me.kind, COUNT(*) FROM test_result t
                           JOIN method me ON me.id = t.method_id
                           WHERE t.retest_of_id IS NOT NULL GROUP BY me.kind""")
    assert dict(linked).get("lab_quantitative", 0) > 0
    lab = _q(env_db, """SELECT t.analyte_id, t.computed_unit, t.threshold_id FROM test_result t
                        JOIN method me ON me.id = t.method_id
                        WHERE me.kind = 'lab_quantitative'""")
    assert all(a is not None and u == "mg/kg" and th is not None for a, u, th in lab)
    # every enzyme reading that is not designed invalid has a plausible control ΔA0
    a0 = [json.loads(r)["control_delta"] if isinstance(r, str) else r["control_delta"]
          for (r,) in _q(env_db, "SELECT t.raw FROM test_result t JOIN method me "
                                 "ON me.id = t.method_id WHERE me.code = 'ENZ-5009.199' "
                                 "AND t.verdict != 'invalid'")]
    assert a0 and min(a0) >= 0.35 and max(a0) <= 0.6
    assert _q(env_db, "SELECT COUNT(*) FROM test_result WHERE source != 'demo' "
                      "AND retest_of_id IS NULL") == [(0,)]
    assert _q(env_db, "SELECT COUNT(*) FROM app_user") == [(0,)]


def test_same_seed_same_data(lims, env_db, tmp_path, monkeypatch):
    assert lims(*SMALL).exit_code == 0
    first = _fingerprint(env_db)
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    monkeypatch.setenv("LIMS_DATABASE_URL", other)
    engine_for.cache_clear()
    assert lims("init").exit_code == 0
    assert lims(*SMALL).exit_code == 0
    assert _fingerprint(other) == first and len(first) > 100
    third = f"sqlite:///{tmp_path / 'third.sqlite3'}"
    monkeypatch.setenv("LIMS_DATABASE_URL", third)
    engine_for.cache_clear()
    assert lims("init").exit_code == 0
    assert lims(*SMALL[:-1], "8").exit_code == 0
    assert _fingerprint(third) != first


def test_if_empty_and_second_run(lims, env_db):
    assert lims(*SMALL).exit_code == 0
    n = _q(env_db, "SELECT COUNT(*) FROM test_result")
    skipped = lims("demo", "--if-empty")
    assert skipped.exit_code == 0 and "nothing done" in skipped.output
    again = lims(*SMALL)
    assert again.exit_code == 2 and "already loaded" in again.output
    assert _q(env_db, "SELECT COUNT(*) FROM test_result") == n


def test_bad_options(lims):
    r = lims("demo", "--markets", "0")
    assert r.exit_code == 2 and "markets" in r.output
    r = lims("demo", "--until", "tomorrow")
    assert r.exit_code == 2 and "--until" in r.output
