"""Reference-data edits from the app (lims.reference.editor): validated, reasoned, audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from lims.errors import NotFound, PermissionDenied, ValidationFailed
from lims.models import AuditEvent, Instrument, Method, Threshold
from lims.models.enums import Role
from lims.reference import editor as reference
from lims.security import audit
from lims.security.auth import Actor

TECH = Actor("li", Role.LAB_TECHNICIAN)
TESTER = Actor("wang", Role.FIELD_TESTER)


def _celery_chlorpyrifos(session) -> Threshold:
    rows = reference.list_thresholds(session=session)
    row = next(r for r in rows if r["analyte_en"] == "chlorpyrifos" and r["commodity_en"] == "celery")
    return session.get(Threshold, row["id"])


def test_threshold_update_needs_reason_and_is_audited(session):
    t = _celery_chlorpyrifos(session)
    with pytest.raises(ValidationFailed, match="reason"):
        reference.update_threshold(session=session, actor=TECH, threshold_id=t.id, reason=" ",
                                   value=0.1)
    with pytest.raises(ValidationFailed, match="value"):
        reference.update_threshold(session=session, actor=TECH, threshold_id=t.id,
                                   reason="typo", value=-1)
    with pytest.raises(ValidationFailed, match="unit"):
        reference.update_threshold(session=session, actor=TECH, threshold_id=t.id,
                                   reason="typo", unit="kg/kg")
    with pytest.raises(PermissionDenied):
        reference.update_threshold(session=session, actor=TESTER, threshold_id=t.id,
                                   reason="typo", value=0.1)
    assert t.value == 0.05
    reference.update_threshold(session=session, actor=TECH, threshold_id=t.id, reason="typo",
                               value=0.06)
    session.commit()
    assert session.get(Threshold, t.id).value == 0.06
    (ev,) = reference.history(session=session, entity="threshold", entity_id=t.id)
    assert ev["old"] == {"value": 0.05} and ev["new"] == {"value": 0.06} and ev["actor"] == "li"
    assert audit.verify(session=session).ok


def test_new_edition_is_a_new_row_and_duplicates_are_refused(session):
    new = reference.add_threshold(session=session, actor=TECH, analyte="毒死蜱",
                                  commodity="芹菜", standard="GB 2763", edition="2024",
                                  value=0.02, effective_from=date(2025, 1, 1),
                                  source="test edition", reason="new edition")
    session.commit()
    editions = sorted(r["edition"] for r in reference.list_thresholds(session=session)
                      if r["analyte_en"] == "chlorpyrifos" and r["commodity_en"] == "celery")
    assert editions == ["2021", "2024"]
    with pytest.raises(ValidationFailed, match="already exists"):
        reference.add_threshold(session=session, actor=TECH, analyte="chlorpyrifos",
                                commodity="celery", standard="GB 2763", edition="2024",
                                value=0.02, source="x", reason="again")
    with pytest.raises(ValidationFailed) as err:
        reference.add_threshold(session=session, actor=TECH, analyte="nope", commodity="moon",
                                standard="", edition="1", value=0, source="", reason="r")
    fields = {e.field for e in err.value.errors}
    assert {"analyte", "commodity", "standard", "source", "value"} <= fields
    reference.set_threshold_active(session=session, actor=TECH, threshold_id=new.id,
                                   active=False, reason="withdrawn")
    session.commit()
    assert session.get(Threshold, new.id).active is False


def test_kit_parameters_are_checked_by_the_verdict_engine(session):
    with pytest.raises(ValidationFailed, match="direction"):
        reference.update_method_params(session=session, actor=TECH, code="KJ-GOLD-CBF",
                                       params={"cutoff": 1.0, "direction": "sideways",
                                               "min_c": 0.1}, reason="r")
    with pytest.raises(ValidationFailed, match="suspicious_from"):
        reference.update_method_params(session=session, actor=TECH, code="ENZ-5009.199",
                                       params={"positive_at": 50, "suspicious_from": 60,
                                               "min_control_delta": 0.3}, reason="r")
    with pytest.raises(ValidationFailed, match="min_control_delta"):
        reference.update_method_params(session=session, actor=TECH, code="ENZ-5009.199",
                                       params={"positive_at": 50}, reason="r")
    with pytest.raises(NotFound):
        reference.update_method_params(session=session, actor=TECH, code="NOPE", params={},
                                       reason="r")
    reference.update_method_params(session=session, actor=TECH, code="KJ-GOLD-CBF",
                                   params={"cutoff": 0.8, "direction": "competitive",
                                           "min_c": 0.1}, reason="kit lot 2026-03 insert")
    session.commit()
    m = session.exec(select(Method).where(Method.code == "KJ-GOLD-CBF")).one()
    assert m.params["cutoff"] == 0.8
    ev = session.exec(select(AuditEvent).where(AuditEvent.entity == "method")).one()
    assert ev.old["params"]["cutoff"] == 1.0 and ev.reason == "kit lot 2026-03 insert"


def test_instrument_profile_edit(session):
    session.add(Instrument(serial_no="S1", model="m", kind="card_reader", driver="profile"))
    session.commit()
    with pytest.raises(ValidationFailed, match="calibration_interval_days"):
        reference.update_instrument(session=session, actor=TECH, serial_no="S1", reason="r",
                                    calibration_interval_days=0)
    with pytest.raises(ValidationFailed, match="not an editable field"):
        reference.update_instrument(session=session, actor=TECH, serial_no="S1", reason="r",
                                    serial_no_new="S2")
    reference.update_instrument(session=session, actor=TECH, serial_no="S1", reason="moved",
                                profile="gold_reader_v2", port_settings={"baudrate": 19200},
                                calibration_interval_days=180)
    session.commit()
    i = session.exec(select(Instrument).where(Instrument.serial_no == "S1")).one()
    assert (i.profile, i.port_settings, i.calibration_interval_days) == (
        "gold_reader_v2", {"baudrate": 19200}, 180)
    assert reference.history(session=session, entity="instrument")[0]["reason"] == "moved"
