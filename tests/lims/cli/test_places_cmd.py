"""`lims places market|vendor|grid-group …` and `lims kits add/list` (issues 13, 14)."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from lims.models import AuditEvent, GridGroup, KitLot, Market, Vendor
from lims.storage.engine import make_engine
from tests.conftest import PINNED_CLOCK


def _rows(url, model):
    eng = make_engine(url)
    with Session(eng) as s:
        out = s.exec(select(model)).all()
    eng.dispose()
    return out


def test_places_add_edit_deactivate_with_json(lims, env_db):
    r = lims("places", "grid-group", "add", "--code", "G1", "--name", "城关网格", "--county",
             "城关区", "--officer", "王伟", "--phone", "13800138000", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"ok": True, "entity": "grid_group", "key": "G1",
                                    "outcome": "created"}
    r = lims("places", "market", "add", "--code", "M1", "--name", "城东农贸市场", "--county",
             "城关区", "--kind", "农贸市场", "--grid-group", "G1", "--json")
    assert json.loads(r.output)["outcome"] == "created", r.output
    r = lims("places", "market", "edit", "M1", "--township", "城关镇", "--json")
    assert json.loads(r.output)["outcome"] == "updated", r.output
    r = lims("places", "vendor", "add", "--market", "M1", "--stall", "A01", "--name", "张三",
             "--json")
    assert json.loads(r.output)["outcome"] == "created", r.output
    r = lims("places", "vendor", "edit", "--market", "M1", "--stall", "A01", "--phone", "139")
    assert r.exit_code == 0 and "updated" in r.output
    r = lims("places", "vendor", "deactivate", "--market", "M1", "--stall", "A01", "--reason",
             "closed", "--json")
    assert json.loads(r.output) == {"ok": True, "entity": "vendor", "key": "M1/A01",
                                    "active": False}
    r = lims("places", "grid-group", "edit", "G1", "--officer", "李娜")
    assert r.exit_code == 0, r.output
    r = lims("places", "market", "deactivate", "M1")
    assert r.exit_code == 0, r.output
    (m,) = _rows(env_db, Market)
    (v,) = _rows(env_db, Vendor)
    (g,) = _rows(env_db, GridGroup)
    assert (m.township, m.active, m.grid_group_id) == ("城关镇", False, g.id)
    assert (v.phone, v.active, g.officer) == ("139", False, "李娜")
    r = lims("places", "market", "list", "--json")
    assert json.loads(r.output)[0]["active"] is False
    actions = [e.action for e in _rows(env_db, AuditEvent)]
    for a in ("grid_group.create", "market.update", "vendor.deactivate", "market.deactivate"):
        assert a in actions


def test_places_bad_input_names_the_field_and_writes_nothing(lims, env_db):
    r = lims("places", "market", "add", "--code", "M1", "--name", "x", "--county", "城关区",
             "--kind", "bazaar", "--grid-group", "G9", "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and {e["field"] for e in out["errors"]} == {"kind", "grid_group"}
    assert _rows(env_db, Market) == []
    r = lims("places", "market", "edit", "NOPE", "--name", "y")
    assert r.exit_code == 2 and "unknown market 'NOPE'" in r.output
    lims("places", "market", "add", "--code", "M1", "--name", "x", "--county", "c", "--kind",
         "farmers")
    r = lims("places", "market", "add", "--code", "M1", "--name", "x", "--county", "c",
             "--kind", "farmers")
    assert r.exit_code == 2 and "exists" in r.output


def test_kits_add_and_list(lims, env_db, monkeypatch):
    monkeypatch.setenv("LIMS_CLOCK", PINNED_CLOCK)   # "expired" is judged against the app's today
    r = lims("kits", "add", "--kit", "CARD-A", "--method", "ENZ-CARD", "--lot", "L1",
             "--expires", "2026-05-01", "--maker", "快检生物", "--json")
    assert json.loads(r.output)["outcome"] == "created", r.output
    r = lims("kits", "add", "--kit", "CARD-A", "--method", "ENZ-CARD", "--lot", "L2",
             "--expires", "2027-01-31")
    assert r.exit_code == 0, r.output
    r = lims("kits", "list", "--json")
    rows = json.loads(r.output)
    assert [(x["lot"], x["expired"]) for x in rows] == [("L1", True), ("L2", False)]
    r = lims("kits", "add", "--kit", "CARD-A", "--method", "NOPE", "--lot", "L3",
             "--expires", "someday")
    assert r.exit_code == 1 and "method" in r.output and "expires_on" in r.output
    r = lims("kits", "deactivate", "--kit", "CARD-A", "--lot", "L1", "--json")
    assert json.loads(r.output)["active"] is False
    assert [x.lot for x in _rows(env_db, KitLot) if x.active] == ["L2"]
    r = lims("kits", "list", "--active")
    assert "L1" not in r.output and "CARD-A/L2" in r.output
