"""Role rules, checked by calling the real services of every area with each role.

* a field tester cannot edit thresholds or void a result;
* a manager cannot alter results;
* only admins manage users (tests in test_security_users.py);
and every permission a service asks for exists in the PERMISSIONS table.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from lims.errors import PermissionDenied
from lims.field import stand as sampling
from lims.files.results_import import import_results
from lims.intake import corrections, review
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.metrology import calibration
from lims.models import Market, Method, TestResult, Threshold, Vendor
from lims.models.enums import Role
from lims.reference import editor as reference
from lims.security.auth import PERMISSIONS, SYSTEM, Actor
from tests.conftest import TZ

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)


@pytest.fixture
def world(session, tmp_path):
    m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Vendor(market_id=m.id, stall="A01", name="张三"))
    session.commit()
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.30}, tested_at=T0,
        market="M1", vendor_stall="A01", commodity="小白菜")])
    session.commit()
    csv = tmp_path / "in.csv"
    csv.write_text("market,commodity,method,tested_at,control_delta,sample_delta\n"
                   "M1,小白菜,ENZ-5009.199,2026-05-06 10:00,0.4,0.1\n", encoding="utf-8")
    return {"result_id": rep.stored[0].result_id,
            "threshold_id": session.exec(select(Threshold.id)).first(), "csv": csv}


# (name, roles that must be refused, call)
THRESHOLD_EDITS = [
    ("reference.update_threshold", lambda s, a, w: reference.update_threshold(
        session=s, actor=a, threshold_id=w["threshold_id"], reason="r", value=99.0)),
    ("reference.add_threshold", lambda s, a, w: reference.add_threshold(
        session=s, actor=a, analyte="毒死蜱", standard="GB 2763", edition="2099", value=1.0,
        commodity="小白菜", source="test", reason="r")),
    ("reference.set_threshold_active", lambda s, a, w: reference.set_threshold_active(
        session=s, actor=a, threshold_id=w["threshold_id"], active=False, reason="r")),
    ("reference.update_method_params", lambda s, a, w: reference.update_method_params(
        session=s, actor=a, code="ENZ-5009.199", params={}, reason="r")),
]
RESULT_CHANGES = [
    ("corrections.correct_result", lambda s, a, w: corrections.correct_result(
        session=s, actor=a, result_id=w["result_id"], raw={"sample_delta": 0.1}, reason="r")),
    ("corrections.void_result", lambda s, a, w: corrections.void_result(
        session=s, actor=a, result_id=w["result_id"], reason="r")),
    ("review.accept", lambda s, a, w: review.accept(
        session=s, actor=a, result_id=w["result_id"], reason="r")),
    ("review.void", lambda s, a, w: review.void(
        session=s, actor=a, result_id=w["result_id"], reason="r")),
    ("results_import.import_results", lambda s, a, w: import_results(
        session=s, actor=a, path=w["csv"])),
    ("sampling.record_field_test", lambda s, a, w: sampling.record_field_test(
        session=s, actor=a, commodity="小白菜", market="M1", method="ENZ-5009.199",
        reading={"control_delta": 0.4, "sample_delta": 0.1}, tested_at=T0)),
]
CALIBRATION = [
    ("calibration.record", lambda s, a, w: calibration.record(
        session=s, actor=a, serial_no="SN-X", kind="verification", readings={})),
]

CASES = (
    [(n, Role.FIELD_TESTER, f) for n, f in THRESHOLD_EDITS]
    + [(n, Role.MANAGER, f) for n, f in THRESHOLD_EDITS]
    + [(n, Role.FIELD_TESTER, f) for n, f in RESULT_CHANGES
       if n in ("corrections.void_result", "review.void", "review.accept",
                "corrections.correct_result", "results_import.import_results")]
    + [(n, Role.MANAGER, f) for n, f in RESULT_CHANGES]
    + [(n, r, f) for n, f in CALIBRATION for r in (Role.FIELD_TESTER, Role.MANAGER)]
)


def _fingerprint(session) -> tuple:
    session.expire_all()
    return (
        [(t.id, t.value, t.active, t.edition) for t in session.exec(select(Threshold))],
        [(r.id, r.status, r.verdict, dict(r.raw)) for r in session.exec(select(TestResult))],
        [(m.code, dict(m.params)) for m in session.exec(select(Method))],
    )


@pytest.mark.parametrize("name, role, call", CASES,
                         ids=[f"{n}-{r.value}" for n, r, _ in CASES])
def test_role_is_refused_and_nothing_changes(session, world, name, role, call):
    before = _fingerprint(session)
    with pytest.raises(PermissionDenied, match=role.value):
        call(session, Actor(f"who-{role.value}", role), world)
    session.rollback()
    assert _fingerprint(session) == before


def test_lab_technician_may_do_what_the_field_tester_may_not(session, world):
    """The same calls succeed for the role that holds the permission (the refusals above are
    about the role, not about a broken call)."""
    tech = Actor("tech1", Role.LAB_TECHNICIAN)
    THRESHOLD_EDITS[0][1](session, tech, world)
    RESULT_CHANGES[0][1](session, tech, world)
    RESULT_CHANGES[1][1](session, tech, world)
    RESULT_CHANGES[4][1](session, tech, world)
    session.commit()
    tr = session.get(TestResult, world["result_id"])
    assert tr.status == "voided" and tr.raw["sample_delta"] == 0.1
    assert session.get(Threshold, world["threshold_id"]).value == 99.0


def test_field_tester_records_tests_and_manager_reads():
    assert Actor("f", Role.FIELD_TESTER).can("results.create")
    assert not Actor("m", Role.MANAGER).can("results.create")
    assert Actor("m", Role.MANAGER).can("reports.read")
    assert Actor("m", Role.MANAGER).can("audit.read")


def test_every_permission_a_service_asks_for_exists():
    used = set()
    for path in (ROOT / "lims").rglob("*.py"):
        if path.name == "auth.py":  # its docstring shows the call with a placeholder
            continue
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'require\(\s*\w+\s*,\s*"([^"]+)"', text))
        used |= set(re.findall(r'^PERMISSION\s*=\s*"([^"]+)"', text, flags=re.M))
        used |= set(re.findall(r'\.can\(\s*"([^"]+)"', text))
    assert used, "the scan found no permission checks"
    assert sorted(used - set(PERMISSIONS)) == []


def test_every_role_can_read_results_and_only_admins_hold_user_and_restore_rights():
    assert PERMISSIONS["results.read"] == frozenset(Role)
    for perm in ("users.manage", "data.restore", "data.backup"):
        assert PERMISSIONS[perm] == frozenset({Role.ADMIN})
    for perm in ("results.review", "results.correct", "reference.edit"):
        assert Role.FIELD_TESTER not in PERMISSIONS[perm]
        assert Role.MANAGER not in PERMISSIONS[perm]
