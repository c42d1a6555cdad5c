"""Slip codes: 8 Crockford base32 digits; a day's codes share their first two (index
locality), the rest is random; the pipeline gives a new sample the code of its reading's day."""

from datetime import date, timedelta

from sqlmodel import select

from lims.intake.pipeline import accept_readings
from lims.intake.readings import CODE_ALPHABET, new_sample_code
from lims.models import Instrument, Market, Sample
from lims.security.auth import SYSTEM
from tests.lims.intake.test_rollups import T0, add_stalls, readings


def test_a_days_codes_share_their_prefix_and_nothing_else():
    day = date(2026, 5, 6)
    codes = [new_sample_code(day) for _ in range(2000)]
    assert all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert {c[:2] for c in codes} == {codes[0][:2]}
    assert len(set(codes)) == 2000                       # 30 random bits each
    assert len({c[2:4] for c in codes}) > 800   # not a counter: ~879 of 1 024 expected
    assert new_sample_code(day + timedelta(days=1))[:2] != codes[0][:2]
    assert new_sample_code(day + timedelta(days=1024))[:2] == codes[0][:2]   # the buckets wrap
    assert len({new_sample_code()[:2] for _ in range(200)}) > 100   # no day: a random bucket


def test_new_samples_get_their_readings_day(session):
    for code in ("M1", "M2", "M3"):
        session.add(Market(code=code, name=f"{code} 市场", county="东城区", kind="farmers"))
    add_stalls(session)
    session.add_all([Instrument(serial_no=sn, model="RP", kind="pesticide_analyzer",
                                driver="profile") for sn in ("SN-OK", "SN-OLD")])
    session.commit()
    rs = [r for r in readings(60, 7, start=T0, days=3) if r.sample_code is None]
    assert len(rs) > 10 and len({r.tested_at.date() for r in rs}) > 1
    report = accept_readings(session=session, actor=SYSTEM, readings=rs)
    session.commit()
    codes = set(session.exec(select(Sample.code)))
    for r, stored in zip(rs, report.stored, strict=True):
        assert stored.sample_code in codes
        assert stored.sample_code[:2] == new_sample_code(r.tested_at.date())[:2]
