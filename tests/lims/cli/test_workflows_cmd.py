"""`lims field-test`, `lims case …`, `lims alerts report`, `lims grades`, `lims agreement`,
`lims events report`, `lims slip`, `lims board` end to end on a SQLite file."""

from __future__ import annotations

import io
import json

import zxingcpp
from PIL import Image
from sqlmodel import Session

from lims.lab import release
from lims.models import EnforcementCase
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.storage.engine import make_engine


def field(lims, stall, at, colour="unchanged", commodity="韭菜", market="T-F01"):
    r = lims("field-test", "--market", market, "--stall", stall, "--commodity", commodity,
             "--card", colour, "--at", at, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_case_clock_from_the_command_line(places, env_db):
    lims = places
    late = field(lims, "A01", "2026-05-06 09:30")
    assert late["verdict"] == "positive" and late["case_id"] and late["alert_id"]
    # graded as of the vendor's newest result: the positive itself
    assert late["vendor_grade"] == "C" and "recent positive" in late["vendor_grade_reason"]
    recent = field(lims, "S01", "2026-05-06 10:30", market="T-S01")
    assert recent["vendor_grade"] == "C" and "recent positive" in recent["vendor_grade_reason"]
    ok = field(lims, "A02", "2026-05-06 09:30")
    for case in (late["case_id"], ok["case_id"]):
        r = lims("case", "notify", "--case", case, "--at", "2026-05-06T09:30:00+08:00")
        assert r.exit_code == 0, r.output
    r = lims("case", "object", "--case", late["case_id"], "--at", "2026-05-06 13:31")
    assert r.exit_code == 1
    assert "REFUSED" in r.output and "4 h 01 min" in r.output
    r = lims("case", "object", "--case", ok["case_id"], "--at", "2026-05-06 13:29", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["accepted"] is True and d["elapsed_minutes"] == 239

    r = lims("case", "confirm", "--case", ok["case_id"], "--method", "ENZ-CARD",
             "--analyte", "氧乐果", "--value", "0.5")
    assert r.exit_code == 2 and "rapid method" in r.output
    r = lims("case", "confirm", "--case", ok["case_id"], "--method", "LAB-GCMS",
             "--analyte", "氧乐果", "--value", "0.01", "--at", "2026-05-07 10:00", "--json")
    assert r.exit_code == 0, r.output
    lab = json.loads(r.output)
    assert lab["case_outcome"] == ""   # decided once a second person released it (issue 19)
    r = lims("release", "approve", "--id", lab["result_id"])
    assert r.exit_code != 0 and "second person" in r.output   # the CLI user recorded it
    with Session(make_engine(env_db)) as s:
        release.release(session=s, actor=Actor("lab2", Role.LAB_TECHNICIAN),
                        result_id=lab["result_id"])
        s.commit()
        assert s.get(EnforcementCase, int(ok["case_id"])).outcome == "overturned"

    r = lims("case", "show", "--case", ok["case_id"], "--json")
    kinds = [s["kind"] for s in json.loads(r.output)["steps"]]
    assert kinds == ["opened", "vendor_notified", "objection", "confirmatory_result"]
    r = lims("case", "list", "--status", "open", "--json")
    assert {c["id"] for c in json.loads(r.output)} == {late["case_id"], ok["case_id"],
                                                       recent["case_id"]}
    r = lims("case", "dispose", "--case", late["case_id"], "--disposal", "burned")
    assert r.exit_code == 2 and "unknown disposal" in r.output


def test_reports_from_the_command_line(places, tmp_path):
    lims = places
    pos = field(lims, "A01", "2026-05-06 09:30")
    field(lims, "A02", "2026-05-06 09:40", colour="sky_blue", commodity="菠菜")
    r = lims("alerts", "arrive", "--alert", pos["alert_id"], "--at", "2026-05-06 09:38")
    assert r.exit_code == 0 and "8.0 min" in r.output
    r = lims("alerts", "report", "--month", "2026-05", "--json")
    (row,) = json.loads(r.output)
    assert (row["alerts"], row["within_target"], row["worst_minutes"]) == (1, 1, 8.0)

    r = lims("grades", "recompute", "--at", "2026-05-06 12:00", "--json")
    grades = {g["stall"]: g["grade"] for g in json.loads(r.output)}
    assert grades["A01"] == "C" and grades["A02"] == "A"
    # issue 16: grading as of a past time reports; it changes no current grade
    r = lims("grades", "recompute", "--at", "2026-04-01 12:00")
    assert r.exit_code == 0, r.output
    assert "C as of" not in r.output and "current grades unchanged" in r.output
    assert "A as of 2026-04-01 12:00 (current C)" in r.output
    r = lims("grades", "show", "--vendor", str(pos["vendor_id"]), "--json")
    shown = json.loads(r.output)
    assert shown["grade"] == "C" and shown["reason"].startswith("C: recent positive")

    r = lims("agreement", "--method", "ENZ-CARD", "--json")
    assert r.exit_code == 0 and json.loads(r.output) == []
    r = lims("agreement", "--method", "NOPE")
    assert r.exit_code == 2 and "unknown method" in r.output

    r = lims("events", "report", "--year", "2026", "--json")
    assert r.exit_code == 0 and json.loads(r.output) == []

    out = tmp_path / "slip.png"
    r = lims("slip", "--code", pos["sample_code"], "--out", out, "--base-url", "https://x.cn")
    assert r.exit_code == 0, r.output
    img = Image.open(io.BytesIO(out.read_bytes()))
    (url,) = [b.text for b in zxingcpp.read_barcodes(img)]   # signed (lims.field.signing)
    assert url.startswith(f"https://x.cn/public?code={pos['sample_code']}&v=positive&")
    r = lims("slip", "--code", pos["sample_code"], "--out", tmp_path / "slip.txt")
    assert r.exit_code == 2 and ".png or .pdf" in r.output
    r = lims("slip", "--code", "NOSUCH", "--out", out)
    assert r.exit_code == 2 and "no sample" in r.output

    r = lims("board", "--market", "T-F01", "--on", "2026-05-06", "--json")
    b = json.loads(r.output)
    assert [x["verdict_zh"] for x in b["today"]] == ["阴性", "阳性"]
