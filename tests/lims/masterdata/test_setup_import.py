"""`lims setup import`: all or nothing, named errors, idempotent upsert, audit, permission."""

from __future__ import annotations

import copy
import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from lims.errors import PermissionDenied, ValidationFailed
from lims.masterdata import records, workbook
from lims.models import AuditEvent, GridGroup, Instrument, Market, Vendor, Volunteer
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from tests.lims.masterdata.conftest import GOOD, write_book


def _import(session, path, actor=SYSTEM):
    return workbook.import_setup(session=session, actor=actor,
                                 tables=workbook.read_source(path))


def test_good_workbook_creates_then_changes_nothing(session, tmp_path):
    path = write_book(tmp_path / "setup.xlsx", GOOD)
    report = _import(session, path)
    session.commit()
    assert report.sheets["markets"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert report.sheets["vendors"]["created"] == 2
    m1 = session.exec(select(Market).where(Market.code == "M1")).one()
    g1 = session.exec(select(GridGroup).where(GridGroup.code == "G1")).one()
    assert (m1.kind, m1.grid_group_id, m1.active) == ("farmers", g1.id, True)
    assert g1.phone == "13800138000" and g1.officer == "王伟"
    assert session.exec(select(Instrument).where(Instrument.serial_no == "SN-1")).one().market_id \
        == m1.id
    assert session.exec(select(Volunteer)).one().name == "小王"
    events = session.exec(select(AuditEvent).where(AuditEvent.action.like("%.create"))).all()
    assert len(events) == 8
    n_audit = len(session.exec(select(AuditEvent)).all())

    again = _import(session, path)
    session.commit()
    assert all(c == {"created": 0, "updated": 0, "unchanged": c["unchanged"]}
               for c in again.sheets.values())
    assert again.sheets["vendors"]["unchanged"] == 2
    assert len(session.exec(select(AuditEvent)).all()) == n_audit


def test_changed_row_is_updated_and_audited(session, tmp_path):
    _import(session, write_book(tmp_path / "a.xlsx", GOOD))
    session.commit()
    book = copy.deepcopy(GOOD)
    book["markets"][1][1] = "城关新农贸市场"
    report = _import(session, write_book(tmp_path / "b.xlsx", book))
    session.commit()
    assert report.sheets["markets"] == {"created": 0, "updated": 1, "unchanged": 1}
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "market.update")).one()
    assert ev.old == {"name": "城关农贸市场"} and ev.new == {"name": "城关新农贸市场"}


def test_bad_rows_named_by_sheet_line_column_and_nothing_written(session, tmp_path):
    book = copy.deepcopy(GOOD)
    book["markets"][2][4] = "bazaar"                      # markets line 3, kind
    book["vendors"].append(["M9", "B01", "", "", ""])      # vendors line 4, market
    book["instruments"][1][3] = "no-such-driver"          # instruments line 2, driver
    book["grid_groups"].append(["G1", "另一个", "青山县", "", ""])  # duplicate code, line 3
    with pytest.raises(ValidationFailed) as exc:
        _import(session, write_book(tmp_path / "bad.xlsx", book))
    session.rollback()
    got = {(e.sheet, e.row, e.field) for e in exc.value.errors}
    assert got == {("markets", 3, "kind"), ("vendors", 4, "market"),
                   ("instruments", 2, "driver"), ("grid_groups", 3, "code")}
    assert "markets line 3, column kind" in str(exc.value)
    assert session.exec(select(Market)).all() == []
    assert session.exec(select(Vendor)).all() == []
    assert session.exec(select(AuditEvent).where(AuditEvent.entity == "market")).all() == []


def test_unknown_sheet_and_column_and_missing_column(session, tmp_path):
    book = {"market": [["code"], ["X"]],
            "vendors": [["market", "stal", "name"], ["M1", "A1", "x"]]}
    with pytest.raises(ValidationFailed) as exc:
        _import(session, write_book(tmp_path / "bad.xlsx", book))
    got = {(e.sheet, e.row, e.field) for e in exc.value.errors}
    assert ("market", 0, "sheet") in got
    assert ("vendors", 1, "stal") in got and ("vendors", 1, "stall") in got


def test_profile_driver_is_checked(session, tmp_path):
    book = copy.deepcopy(GOOD)
    book["instruments"][1][3] = "profile:no-such-model"
    with pytest.raises(ValidationFailed) as exc:
        _import(session, write_book(tmp_path / "bad.xlsx", book))
    assert [(e.sheet, e.field) for e in exc.value.errors] == [("instruments", "driver")]


def test_folder_of_csv_files(session, tmp_path):
    import csv

    folder = tmp_path / "setup"
    folder.mkdir()
    for name in ("grid_groups", "markets", "vendors"):
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8-sig") as f:
            csv.writer(f).writerows(GOOD[name])
    report = _import(session, folder)
    assert set(report.sheets) == {"grid_groups", "markets", "vendors"}
    assert report.sheets["vendors"]["created"] == 2


def test_only_admins(session, tmp_path):
    path = write_book(tmp_path / "setup.xlsx", GOOD)
    for role in (Role.MANAGER, Role.LAB_TECHNICIAN, Role.FIELD_TESTER):
        with pytest.raises(PermissionDenied):
            _import(session, path, actor=Actor("u", role))


def test_deactivate_never_deletes(session, tmp_path):
    _import(session, write_book(tmp_path / "a.xlsx", GOOD))
    m1 = session.exec(select(Market).where(Market.code == "M1")).one()
    records.set_active(session=session, actor=SYSTEM, entity="market", id=m1.id, active=False,
                       reason="closed")
    session.commit()
    assert session.get(Market, m1.id).active is False
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "market.deactivate")).one()
    assert ev.reason == "closed"


def test_cli_import_json_template_and_bad_exit(env_db, tmp_path):
    from lims.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    tpl = tmp_path / "template.xlsx"
    r = runner.invoke(app, ["setup", "template", "--out", str(tpl)])
    assert r.exit_code == 0, r.output
    tables = workbook.read_source(tpl)
    assert set(tables) == {"notes", *workbook.BY_NAME}
    assert tables["markets"].header == list(workbook.BY_NAME["markets"].columns)
    r = runner.invoke(app, ["setup", "import", str(tpl), "--json"])   # empty: nothing to do
    assert r.exit_code == 0, r.output

    good = write_book(tmp_path / "good.xlsx", GOOD)
    r = runner.invoke(app, ["setup", "import", str(good), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sheets"]["markets"] == {"created": 2, "updated": 0,
                                                         "unchanged": 0}
    r = runner.invoke(app, ["setup", "import", str(good), "--json"])
    assert json.loads(r.stdout)["sheets"]["markets"] == {"created": 0, "updated": 0,
                                                         "unchanged": 2}
    book = copy.deepcopy(GOOD)
    book["vendors"][2][0] = "NOPE"
    r = runner.invoke(app, ["setup", "import", str(write_book(tmp_path / "bad.xlsx", book))])
    assert r.exit_code == 1
    assert "vendors line 3, column market" in r.stderr
