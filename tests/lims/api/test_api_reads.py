"""Read endpoints on a real server: reference data for stations, the market board, a public
result, the OpenAPI document and its pages."""

from __future__ import annotations

from lims.wire.readings import ReadingCreate
from tests.lims.api.conftest import ANALYZER, T0, positive


def test_reference_holds_places_vendors_methods_thresholds_instruments(station):
    r = station.get("/api/v1/reference")
    assert r.status == 200, r.body
    ref = r.json
    m1 = next(m for m in ref["markets"] if m["code"] == "M1")
    assert [v["stall"] for v in m1["vendors"]] == ["A01", "A02"]
    assert m1["vendors"][0] == {"stall": "A01", "name": "张记", "credit_grade": "A"}
    methods = {m["code"]: m for m in ref["methods"]}
    assert methods["ENZ-5009.199"]["kind"] == "enzyme_inhibition"
    assert methods["ENZ-5009.199"]["params"]["positive_at"] == 50.0
    assert "KJ-GOLD-CBF" in methods                                   # kits
    assert ref["thresholds"] and all(t["standard"] for t in ref["thresholds"])
    assert "小白菜" in {c["name_zh"] for c in ref["commodities"]}
    assert ref["analytes"] and all(a["name_en"] for a in ref["analytes"])
    [inst] = ref["instruments"]
    assert (inst["serial_no"], inst["market"], inst["method"]) == (ANALYZER, "M1",
                                                                    "ENZ-5009.199")


def test_board_and_public_result_after_an_upload(station):
    from datetime import timedelta

    retests = [positive(sample_code="KJ-BRD-0001", tested_at=(T0 + timedelta(minutes=m))
                        .isoformat()) for m in (10, 20)]   # GB/T 5009.199: re-tested twice
    up = station.post("/api/v1/readings", {"readings": [
        positive(sample_code="KJ-BRD-0001"),
        positive(sample_code="KJ-BRD-0002", vendor_stall="A02", sample_delta=0.45), *retests]})
    assert up.status == 200, up.body
    r = station.get("/api/v1/board/M1?on=2026-05-06")
    assert r.status == 200, r.body
    board = r.json
    assert board["market"] == "城东农贸市场" and board["day"] == "2026-05-06"
    assert {(row["code"], row["stall"], row["verdict"]) for row in board["today"]} == {
        ("KJ-BRD-0001", "A01", "positive"), ("KJ-BRD-0002", "A02", "negative")}
    assert board["today_counts"] == {"positive": 1, "negative": 1}
    positive_row = next(row for row in board["today"] if row["verdict"] == "positive")
    assert positive_row["handling"]                     # the case opened: "being handled"
    r = station.get("/api/v1/results/kj-brd-0001")
    assert r.status == 200, r.body
    res = r.json
    assert (res["code"], res["verdict"], res["verdict_zh"], res["stall"]) == (
        "KJ-BRD-0001", "positive", "阳性", "A01")
    assert res["value"] == 80.0 and res["objection_hours"] == 4.0
    assert station.get("/api/v1/board/NOPE").status == 404
    r = station.get("/api/v1/board/M1?on=someday")
    assert r.status == 422 and r.json["errors"][0]["field"] == "on"
    r = station.get("/api/v1/results/KJ-NONE-01")
    assert r.status == 404 and "KJ-NONE-01" in r.json["error"]


def test_openapi_is_served_with_the_reading_schema(station):
    r = station.get("/api/openapi.json", token=None)
    assert r.status == 200
    doc = r.json
    schemas = doc["components"]["schemas"]
    assert set(schemas["ReadingCreate"]["properties"]) == set(ReadingCreate.model_fields)
    post = doc["paths"]["/api/v1/readings"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ReadingBatch")
    assert "ReadingAccepted" in schemas and "422" in post["responses"]
    assert "bearer" in str(doc["components"]["securitySchemes"]).lower()
    page = station.get("/api/docs", token=None)
    assert page.status == 200 and "swagger" in page.body.decode().lower()
