"""``GET /api/v1/reference``: the reference data a station tests with.

Markets with their vendors (stall, name, credit grade), commodities, analytes, methods and kits
with their judging parameters, the active thresholds (MRLs) and the instruments. No people: no
users, no grid-group staff, no vendor licence numbers.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import select

from lims.api.deps import caller_with, db
from lims.api.errors import ErrorBody
from lims.api.schemas import (
    InstrumentOut,
    MarketOut,
    MethodOut,
    NamedOut,
    Reference,
    ThresholdOut,
    VendorOut,
)
from lims.api.tokens import Caller
from lims.models import Analyte, Commodity, Instrument, Market, Method, Threshold, Vendor

router = APIRouter(tags=["reference"])


@router.get("/reference", response_model=Reference, summary="Reference data for stations",
            responses={401: {"model": ErrorBody}, 429: {"model": ErrorBody}})
def get_reference(request: Request,
                  caller: Caller = Depends(caller_with("reference.read"))) -> Reference:
    with db(request) as s:
        markets = s.exec(select(Market).order_by(Market.code)).all()
        vendors: dict[int, list[VendorOut]] = {}
        for v in s.exec(select(Vendor).order_by(Vendor.market_id, Vendor.stall)):
            vendors.setdefault(v.market_id, []).append(
                VendorOut(stall=v.stall, name=v.name, credit_grade=v.credit_grade))
        commodities = s.exec(select(Commodity).order_by(Commodity.id)).all()
        analytes = s.exec(select(Analyte).order_by(Analyte.id)).all()
        methods = s.exec(select(Method).order_by(Method.code)).all()
        thresholds = s.exec(select(Threshold).where(Threshold.active)
                            .order_by(Threshold.id)).all()
        instruments = s.exec(select(Instrument).order_by(Instrument.serial_no)).all()
        analyte_en = {a.id: a.name_en for a in analytes}
        commodity_en = {c.id: c.name_en for c in commodities}
        market_code = {m.id: m.code for m in markets}
        method_code = {m.id: m.code for m in methods}
        return Reference(
            markets=[MarketOut(code=m.code, name=m.name, county=m.county, township=m.township,
                               kind=m.kind, vendors=vendors.get(m.id, [])) for m in markets],
            commodities=[NamedOut(name_zh=c.name_zh, name_en=c.name_en, category=c.category)
                         for c in commodities],
            analytes=[NamedOut(name_zh=a.name_zh, name_en=a.name_en, category=a.pesticide_class)
                      for a in analytes],
            methods=[MethodOut(code=m.code, name_zh=m.name_zh, name_en=m.name_en,
                               standard=m.standard, edition=m.edition, kind=m.kind,
                               is_rapid=m.is_rapid, analyte=analyte_en.get(m.analyte_id),
                               params=dict(m.params or {})) for m in methods],
            thresholds=[ThresholdOut(
                analyte=analyte_en.get(t.analyte_id, ""),
                commodity=commodity_en.get(t.commodity_id) if t.commodity_id else None,
                commodity_category=t.commodity_category, standard=t.standard,
                edition=t.edition, value=t.value, unit=t.unit, effective_from=t.effective_from,
                confirmed=t.confirmed) for t in thresholds],
            instruments=[InstrumentOut(
                serial_no=i.serial_no, model=i.model, kind=i.kind, driver=i.driver,
                profile=i.profile, market=market_code.get(i.market_id),
                method=method_code.get(i.method_id),
                calibration_interval_days=i.calibration_interval_days, active=i.active)
                for i in instruments])
