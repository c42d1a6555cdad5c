"""Public data over the API: a market's result board and one sample's public result.

The same data the app's public pages show (``lims.field.board.market_board``,
``lims.field.stand.public_result``): commodities, stalls, verdicts and how positives were
handled; no personal data. A token is still needed (scope ``public.read``), so a screen or a
partner platform is known and rate-limited.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request

from lims.api.deps import caller_with, db
from lims.api.errors import ErrorBody
from lims.api.schemas import BoardOut, BoardRowOut
from lims.api.tokens import Caller
from lims.field.board import BoardRow, market_board
from lims.field.stand import PublicResult, public_result
from lims.timeutil import local_tz

router = APIRouter(tags=["public"])
ERRORS = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 429: {"model": ErrorBody}}


def _row(r: BoardRow) -> BoardRowOut:
    return BoardRowOut(tested_at=r.tested_at, code=r.code, commodity_zh=r.commodity_zh,
                       commodity_en=r.commodity_en, stall=r.stall, method_zh=r.method_zh,
                       verdict=r.verdict, verdict_zh=r.verdict_zh, handling=list(r.handling))


@router.get("/board/{market_code}", response_model=BoardOut, responses=ERRORS,
            summary="A market's public result board (today and this week)")
def get_board(market_code: str, request: Request,
              on: date | None = Query(None, description="the day to show (default: today)"),
              caller: Caller = Depends(caller_with("public.read"))) -> BoardOut:
    with db(request) as s:
        b = market_board(session=s, market=market_code, on=on, tz=local_tz())
    return BoardOut(market=b.market, day=b.day, week_start=b.week_start,
                    today=[_row(r) for r in b.today], week=[_row(r) for r in b.week],
                    today_counts=b.counts(b.today), week_counts=b.counts(b.week))


@router.get("/results/{sample_code}", response_model=PublicResult, responses=ERRORS,
            summary="A sample's public result (as on its slip's QR page)")
def get_result(sample_code: str, request: Request,
               caller: Caller = Depends(caller_with("public.read"))) -> PublicResult:
    with db(request) as s:
        return public_result(session=s, code=sample_code, tz=local_tz())
