"""Kits (issue 14): a result records its kit lot; a lot past its expiry date on the test day
holds the result for review; an unknown lot refuses the batch naming the field; the set-up
workbook's kits sheet; managers edit master data of their own county only."""

from __future__ import annotations

import copy
from datetime import date, datetime

import pytest
from sqlmodel import select

from lims.errors import PermissionDenied, ValidationFailed
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.masterdata import kits, records, workbook
from lims.models import AuditEvent, GridGroup, Kit, KitLot, Market, TestResult, User
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from tests.conftest import TZ
from tests.lims.masterdata.conftest import GOOD, write_book

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)


def _lots(session):
    kits.save_kit_lot(session=session, actor=SYSTEM, kit="CARD-A", method="ENZ-CARD",
                      maker="快检生物", lot="L2604", expires_on="2026-05-05")   # expired on T0
    kits.save_kit_lot(session=session, actor=SYSTEM, kit="CARD-A", method="ENZ-CARD",
                      maker="快检生物", lot="L2605", expires_on=date(2026, 5, 6))  # last day
    session.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
    session.commit()


def card(lot: str | None, key: str, colour: str = "unchanged") -> ReadingIn:
    return ReadingIn(method="ENZ-CARD", raw={"colour": colour}, tested_at=T0, market="M1",
                     commodity="小白菜", kit_lot=lot, ingest_key=key)


def test_expired_lot_holds_the_result_and_every_result_records_its_lot(session):
    _lots(session)
    rep = accept_readings(session=session, actor=SYSTEM,
                          readings=[card("L2604", "k1"), card("CARD-A/L2605", "k2"),
                                    card(None, "k3")])
    session.commit()
    held, ok, none = rep.stored
    assert (held.status, ok.status, none.status) == ("held", "recorded", "recorded")
    lots = {x.lot: x.id for x in session.exec(select(KitLot))}
    rows = {r.ingest_key: r for r in session.exec(select(TestResult))}
    assert rows["k1"].kit_lot_id == lots["L2604"] and rows["k2"].kit_lot_id == lots["L2605"]
    assert rows["k3"].kit_lot_id is None
    reason = [x for x in rows["k1"].verdict_reasons if "kit lot" in x]
    assert reason == ["held: kit lot L2604 expired on 2026-05-05 "
                      "(试剂批号 L2604 已于 2026-05-05 过期)"]
    assert not any("kit lot" in x for x in rows["k2"].verdict_reasons)


def test_unknown_lot_refuses_the_batch_naming_the_field(session):
    _lots(session)
    with pytest.raises(ValidationFailed) as exc:
        accept_readings(session=session, actor=SYSTEM,
                        readings=[card("L2604", "k1"), card("NOPE", "k2")])
    session.rollback()
    (err,) = exc.value.errors
    assert (err.field, err.row) == ("kit_lot", 1) and "unknown kit lot 'NOPE'" in err.message
    assert session.exec(select(TestResult)).all() == []


def test_kit_lot_form_checks_fields_and_audits(session):
    with pytest.raises(ValidationFailed) as exc:
        kits.save_kit_lot(session=session, actor=SYSTEM, kit="", method="NOPE", lot="L1",
                          expires_on="31/05/2026")
    assert {e.field for e in exc.value.errors} == {"kit", "method", "expires_on"}
    assert kits.save_kit_lot(session=session, actor=SYSTEM, kit="K", method="ENZ-CARD",
                             lot="L1", expires_on="2026/5/31") == "created"
    assert kits.save_kit_lot(session=session, actor=SYSTEM, kit="K", method="ENZ-CARD",
                             lot="L1", expires_on="2026-05-31") == "unchanged"
    assert kits.save_kit_lot(session=session, actor=SYSTEM, kit="K", method="ENZ-CARD",
                             lot="L1", expires_on="2026-06-30") == "updated"
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "kit_lot.update")).one()
    assert ev.new == {"expires_on": "2026-06-30"}
    with pytest.raises(PermissionDenied):
        kits.save_kit_lot(session=session, actor=Actor("boss", Role.MANAGER), kit="K",
                          method="ENZ-CARD", lot="L2", expires_on="2026-06-30")


def test_workbook_kits_sheet_imports_once_and_names_bad_cells(session, tmp_path):
    book = copy.deepcopy(GOOD)
    book["kits"] = [["kit", "method", "maker", "name", "lot", "expires_on"],
                    ["CARD-A", "ENZ-CARD", "快检生物", "有机磷速测卡", "L1", datetime(2026, 8, 1)],
                    ["CARD-A", "ENZ-CARD", "快检生物", "", "L2", "2026-09-01"]]
    path = write_book(tmp_path / "a.xlsx", book)
    rep = workbook.import_setup(session=session, actor=SYSTEM, tables=workbook.read_source(path))
    session.commit()
    assert rep.sheets["kits"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert session.exec(select(Kit)).one().name == "有机磷速测卡"
    assert {x.lot: x.expires_on for x in session.exec(select(KitLot))} == {
        "L1": date(2026, 8, 1), "L2": date(2026, 9, 1)}
    again = workbook.import_setup(session=session, actor=SYSTEM,
                                  tables=workbook.read_source(path))
    assert again.sheets["kits"] == {"created": 0, "updated": 0, "unchanged": 2}

    book["kits"] += [["CARD-B", "NOPE", "", "", "L3", "soon"], ["CARD-A", "ENZ-CARD", "", "",
                                                                 "L1", "2026-08-01"]]
    with pytest.raises(ValidationFailed) as exc:
        workbook.import_setup(session=session, actor=SYSTEM,
                              tables=workbook.read_source(write_book(tmp_path / "b.xlsx", book)))
    got = {(e.sheet, e.row, e.field) for e in exc.value.errors}
    assert got == {("kits", 4, "method"), ("kits", 4, "expires_on"), ("kits", 5, "lot")}


def test_template_has_a_kits_sheet():
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(workbook.template_bytes()))
    assert [c.value for c in wb["kits"][1]] == ["kit", "method", "maker", "name", "lot",
                                                "expires_on", "active"]


def test_managers_edit_master_data_of_their_own_county_only(session):
    g = GridGroup(code="G1", name="城关网格", county="城关区")
    session.add(g)
    session.flush()
    session.add(User(username="boss", role="manager", grid_group_id=g.id))
    session.add(Market(code="FAR", name="远方市场", county="青山县", kind="farmers"))
    session.commit()
    boss = Actor("boss", Role.MANAGER)
    assert records.save_market(session=session, actor=boss, code="M9", name="新市场",
                               county="城关区", kind="农贸市场", grid_group="G1") == "created"
    assert records.save_vendor(session=session, actor=boss, market="M9", stall="A1") == "created"
    with pytest.raises(PermissionDenied, match="own county"):
        records.save_market(session=session, actor=boss, code="M8", name="x", county="青山县",
                            kind="farmers")
    with pytest.raises(PermissionDenied):   # moving another county's market into one's own
        records.save_market(session=session, actor=boss, code="FAR", name="远方市场",
                            county="城关区", kind="farmers")
    far = session.exec(select(Market).where(Market.code == "FAR")).one()
    with pytest.raises(PermissionDenied):
        records.set_active(session=session, actor=boss, entity="market", id=far.id,
                           active=False)
    with pytest.raises(PermissionDenied):   # a lab instrument belongs to no county
        records.save_instrument(session=session, actor=boss, serial="SN-LAB", model="X",
                                kind="pesticide_analyzer", driver="astm")
    with pytest.raises(PermissionDenied):
        records.save_market(session=session, actor=Actor("t", Role.FIELD_TESTER), code="M7",
                            name="x", county="城关区", kind="farmers")
    assert [m.code for m in records.list_markets(session=session, active_only=True,
                                                 counties=["城关区"])] == ["M9"]


def test_import_file_kit_lot_column(session, tmp_path):
    from lims.files.results_import import import_results

    _lots(session)
    path = tmp_path / "r.csv"
    path.write_text("method,tested_at,market,commodity,colour,试剂批号\n"
                    "ENZ-CARD,2026-05-06 09:30,M1,小白菜,unchanged,L2604\n"
                    "ENZ-CARD,2026-05-06 09:31,M1,小白菜,unchanged,L2605\n", encoding="utf-8")
    rep = import_results(session=session, actor=SYSTEM, path=path)
    assert (rep.created, rep.held) == (2, 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("method,tested_at,market,commodity,colour,kit_lot\n"
                   "ENZ-CARD,2026-05-06 09:32,M1,小白菜,unchanged,L9999\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        import_results(session=session, actor=SYSTEM, path=bad)
    assert [(e.row, e.field) for e in exc.value.errors] == [(2, "kit_lot")]
