"""Field page, analyzer part: the instrument's channels as a grid where the tester types, scans or
picks sample codes, opens the batch and watches each channel's verdict arrive.

Not a page of its own: ``dashboards/views/field_test.py`` calls ``instrument_panel``. Reads and
writes go through lims services (``lims.intake.batches``, ``lims.field.stand``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import streamlit as st

from dashboards import data, next_test, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError, ValidationFailed
from lims.storage.engine import get_engine, session_scope

REFRESH = timedelta(seconds=3)   # how often an open batch looks for new readings
PER_ROW = 3                      # channels per row (a phone stacks them into one column)


# ------------------------------------------------------------------ reads and writes (services)

def default_instrument(market_id: int | None) -> int | None:
    from lims.field.stand import default_instrument as pick

    with session_scope(get_engine()) as s:
        return pick(session=s, market_id=market_id)


@st.cache_data(ttl=300, show_spinner=False)
def channel_count(db: str, instrument_id: int) -> int:
    from lims.field.stand import instrument_channels

    with session_scope(get_engine()) as s:
        return instrument_channels(session=s, instrument_id=instrument_id)


def open_batch_of(instrument_id: int):
    from lims.intake import batches

    with session_scope(get_engine()) as s:
        return batches.open_batch_of(session=s, instrument_id=instrument_id)


def channel_results(batch_id: int) -> list[dict]:
    """Not cached: the open batch polls it."""
    from lims.intake import batches

    with session_scope(get_engine()) as s:
        return batches.channel_results(session=s, batch_id=batch_id)


# ------------------------------------------------------------------ callbacks

def _code_key(iid: int, ch: int) -> str:
    return f"batch_ch_{iid}_{ch}"


def _fill(iid: int, n: int) -> None:
    """Put the samples registered on this page on the free channels, in order."""
    taken = {(st.session_state.get(_code_key(iid, ch)) or "").strip().upper()
             for ch in range(1, n + 1)}
    todo = [c for c in st.session_state.get("field_codes", []) if c not in taken]
    for ch in range(1, n + 1):
        if not todo:
            break
        if not (st.session_state.get(_code_key(iid, ch)) or "").strip():
            st.session_state[_code_key(iid, ch)] = todo.pop(0)


def _open(iid: int, serial: str, n: int) -> None:
    from lims.intake import batches

    codes = {str(ch): v.strip() for ch in range(1, n + 1)
             if (v := st.session_state.get(_code_key(iid, ch)) or "").strip()}
    control = st.session_state.get(f"batch_control_{iid}")
    errors: dict[str, str] = {}
    try:
        with data.session() as s:
            batches.open_batch(session=s, actor=actor(), instrument_serial=serial,
                               channels=codes, control=None if control is None else str(control))
    except ValidationFailed as exc:
        for e in exc.errors:
            where = str(e.row).removeprefix("channel ").strip()
            key = "control" if e.field == "control" else (where if where.isdigit() else "_")
            errors[key] = (errors.get(key, "") + " " + e.message).strip()
    except LimsError as exc:
        errors["_"] = str(exc)
    else:
        data.clear()
        for ch in range(1, n + 1):
            st.session_state[_code_key(iid, ch)] = ""
    st.session_state["batch_errors"] = errors


def _close(batch_id: int) -> None:
    from lims.intake import batches

    try:
        with data.session() as s:
            batches.close_batch(session=s, actor=actor(), batch_id=batch_id)
    except LimsError as exc:
        st.session_state["batch_errors"] = {"_": str(exc)}
        return
    data.clear()
    st.session_state["field_last_batch"] = batch_id
    st.session_state["batch_errors"] = {}


# ------------------------------------------------------------------ what the tester sees

def pending_note(row: dict) -> str | None:
    """A sample's follow-up state beside its verdict: "positive, re-test pending (n more)",
    confirmed or not confirmed by its re-tests (lims.intake.retests), else that it is a re-test."""
    state = data.retest_state(data.db_key(), row["sample_code"]) if row.get("sample_code") \
        else None
    if state:
        return retest_label(*state)
    return t("batch.retest") if row.get("retest") else None


def retest_label(state: str, remaining: int) -> str:
    return t(f"retest.state.{state}", n=remaining)


def channel_card(row: dict) -> None:
    """One channel: its number, sample and — once the instrument sent it — the big verdict."""
    head = t("batch.channel", n=row["channel"])
    if row["control"]:
        st.markdown(f"**{head}** · {t('batch.control_slot')}")
        return
    what = " · ".join(x for x in (row["sample_code"],
                                  fmt.name({"name_zh": row["commodity_zh"],
                                            "name_en": row["commodity_en"]}),
                                  row["stall"] or t("field.resident")) if x)
    if row["verdict"] is None:
        st.markdown(f"**{head}** · `{row['sample_code']}`")
        st.info(f"{what}\n\n{t('batch.waiting')}")
        return
    value = "" if row["value"] is None else f" · {fmt.num(row['value'], 2)} {row['unit'] or ''}"
    tip = next_test.advice(data.db_key(), row["sample_code"] or "") \
        if row["verdict"] == "negative" else None   # issue 19: what a negative cannot see
    widgets.verdict_banner(row["verdict"], next_test.detail(tip, f"{head} · {what}{value}"),
                           size_rem=3.2)
    next_test.recommend(tip)
    note = pending_note(row)
    if note and data.retest_state(data.db_key(), row["sample_code"] or ""):
        st.warning(note)
    elif note:
        st.caption(note)
    if row["status"] == "held":
        st.warning(t("field.held"))


def results_grid(rows: list[dict]) -> None:
    for i in range(0, len(rows), PER_ROW):
        for col, row in zip(st.columns(PER_ROW), rows[i:i + PER_ROW], strict=False):
            with col:
                channel_card(row)


def _errors_at(key: str) -> None:
    msg = st.session_state.get("batch_errors", {}).get(key)
    if msg:
        st.error(msg)


def entry_grid(iid: int, serial: str, n: int) -> None:
    """The channels to fill: type or scan a code into each, or put the registered ones on."""
    st.caption(t("batch.hint"))
    if st.session_state.get("field_codes"):
        st.button(t("batch.fill"), key=f"batch_fill_{iid}", on_click=_fill, args=(iid, n),
                  width="stretch")
    for i in range(1, n + 1, PER_ROW):
        for col, ch in zip(st.columns(PER_ROW), range(i, min(i + PER_ROW, n + 1)),
                           strict=False):
            with col:
                st.text_input(t("batch.channel", n=ch), key=_code_key(iid, ch),
                              placeholder=t("batch.code_placeholder"))
                _errors_at(str(ch))
    choices = [None, 0, *range(1, n + 1)]
    st.selectbox(t("batch.control"), choices, key=f"batch_control_{iid}",
                 format_func=labeller(choices, lambda c: t("batch.no_control") if c is None
                                      else t("batch.channel", n=c)))
    _errors_at("control")
    _errors_at("_")
    st.button(t("batch.open"), type="primary", key=f"batch_open_{iid}", on_click=_open,
              args=(iid, serial, n), width="stretch")


def instrument_panel(db: str, market_id: int | None, instruments: list[dict],
                     latest: Callable[[int], None]) -> None:
    """Pick the instrument (the one sending by default), then its batch: the grid to fill, or
    the open batch's channels with their verdicts (refreshed while it is open)."""
    by_id = {i["id"]: i for i in instruments}
    ids = list(by_id)
    first = default_instrument(market_id)
    iid = st.selectbox(t("field.instrument"), ids, key="field_instrument",
                       index=ids.index(first) if first in by_id else 0,
                       format_func=lambda i: f"{by_id[i]['serial_no']} · {by_id[i]['model']}")
    serial = by_id[iid]["serial_no"]
    n = channel_count(db, iid)
    batch = open_batch_of(iid)
    if batch is None:
        last = st.session_state.get("field_last_batch")
        if last:
            with st.expander(t("batch.last", id=last), expanded=True):
                results_grid(channel_results(last))
        st.subheader(t("batch.new", n=n))
        entry_grid(iid, serial, n)
        latest(iid)
        return
    st.subheader(t("batch.open_title", id=batch.id, time=fmt.moment(batch.opened_at)))

    @st.fragment(run_every=REFRESH)
    def live() -> None:
        rows = channel_results(batch.id)
        done = sum(1 for r in rows if r["verdict"] is not None)
        samples = sum(1 for r in rows if not r["control"])
        st.caption(t("batch.progress", done=done, total=samples))
        results_grid(rows)

    live()
    _errors_at("_")
    st.button(t("batch.close"), key=f"batch_close_{batch.id}", on_click=_close,
              args=(batch.id,), width="stretch")
