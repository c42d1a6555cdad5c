"""Public: one sample's result, opened from the QR code on the result slip (/public?code=…).

Bilingual (Chinese first), no login, no personal data. When the URL carries the slip's signature
(``v``, ``t``, ``kid``, ``sig`` from its QR code, ``lims.field.signing``) the page checks it and
says whether the slip is genuine, forged or altered, or outdated by a correction. A result held
for review or voided is never shown: the page says only that it is under review or voided
(``lims.field.board.public_state``); held re-tests are left out too.
"""

from __future__ import annotations

import html
import logging
import re

import streamlit as st

from dashboards import data, next_test, widgets
from dashboards import i18n as fmt
from dashboards.identity import plain
from lims.errors import LimsError
from lims.field import board, signing
from lims.lab import reports as lab_reports
from lims.settings import load_settings

log = logging.getLogger(__name__)

db = data.db_key()
code = (st.query_params.get("code") or "").strip().upper()


@st.cache_data(ttl=15, show_spinner=False)
def _visibility(db: str, code: str) -> tuple[str | None, set]:
    """(public state of the sample, test times of its re-tests that must not be shown)."""
    with data.session() as s:
        return (board.public_state(session=s, code=code),
                board.hidden_retest_times(session=s, code=code))


def _remember() -> None:
    for name in signing.SIGNED_PARAMS:   # another code typed: the slip's signature is not its
        st.query_params.pop(name, None)
    st.query_params["code"] = st.session_state["public_code"].strip().upper()


def both(key: str, **fields) -> str:
    """A string of the table in Chinese, then English (this page shows both)."""
    entry = fmt.strings()[key]
    return " ".join(entry[lg].format(**fields) for lg in ("zh", "en"))


def _claim(check: signing.SlipCheck) -> str:
    """What the slip's QR says, as plain text (it comes from the URL: never trusted as markup)."""
    v = (check.verdict or "—")[:20]
    word = f"{widgets.ZH_WORD[v]} {v}" if v in widgets.ZH_WORD else v
    when = f", {fmt.moment(check.tested_at)}" if check.tested_at else ""
    return plain(f"{check.code or '—'} {word}{when}")


def signature_notice(r) -> None:
    """Check the slip's signature in the URL (if any) and say what it means for this result."""
    params = {name: st.query_params.get_all(name) for name in signing.SIGNED_PARAMS}
    if (params["code"] or [""])[0].strip().upper() != r.code or not any(
            params[k] for k in ("v", "t", "kid", "sig")):
        return   # a typed code, or an unsigned slip of an older version
    try:
        page_url = st.context.url or ""
    except Exception:   # noqa: BLE001 - no browser context (tests, bare mode)
        page_url = ""
    try:
        check = signing.check_params(params, keys=signing.trusted_keys(),
                                     base_urls=[load_settings().public_base_url, page_url])
    except LimsError:
        log.exception("slip signature could not be checked")
        st.warning("⚠ " + both("public.sig.unchecked"))
        return
    check = signing.compare_with_record(check, verdict=r.verdict, tested_at=r.tested_at)
    claim = both("public.sig.claim", claim=_claim(check))
    if check.status == signing.VALID and not check.mismatches:
        st.success(f"✅ **{both('public.sig.valid')}** · {both('public.sig.valid_detail')}")
    elif check.status == signing.VALID:
        st.warning(f"⚠ **{both('public.sig.changed')}**\n\n{claim}")
    elif check.status == signing.UNSIGNED:
        st.error(f"⛔ **{both('public.sig.missing')}**\n\n{claim}")
    else:
        st.error(f"⛔ **{both('public.sig.forged')}**\n\n{claim}")


def report_notice(code: str) -> None:
    """A lab test report's QR carries ``report=N``: say whether that version is still current."""
    raw = (st.query_params.get("report") or "").strip()
    if not raw:
        return
    if not raw.isdigit():
        st.error(both("public.report.bad", version=plain(raw[:10])))
        return
    try:
        with data.session() as s:
            status, current = lab_reports.report_status(session=s, code=code, version=int(raw))
    except LimsError:
        st.error(both("public.report.none"))
        return
    if status == "current":
        st.success("✅ " + both("public.report.current", version=int(raw)))
    else:
        st.warning("⚠ " + both("public.report.superseded", version=int(raw), current=current))


typed = st.text_input("样品编号 Sample code", value=code, key="public_code", max_chars=20,
                      on_change=_remember)
code = typed.strip().upper()
if not code:
    st.title("快检结果查询 · Rapid test result")
    st.info("请输入结果凭条上的样品编号,或扫描凭条上的二维码。"
            " Type the sample code from the slip, or scan its QR code.")
    st.stop()
r = data.public_result(db, code) if re.fullmatch(r"[A-Z0-9-]{4,20}", code) else None
if r is None:   # the typed code is shown as plain text (a URL in ?code= must not become a link)
    st.error(f"没有编号为 {plain(code)} 的样品结果。 No result for sample code {plain(code)}.")
    st.stop()

state, hidden_retests = _visibility(db, r.code)
st.title(f"快检结果 · {r.code}")
if state == "held":
    st.info(both("public.held"))
    st.stop()
if state == "voided":
    st.warning(both("public.voided"))
    st.stop()
signature_notice(r)
report_notice(r.code)
widgets.verdict_banner(r.verdict if r.verdict in widgets.VERDICT_STYLE else "invalid",
                       f"{r.verdict_zh} / {r.verdict_en}", size_rem=5)
tip = next_test.advice(db, r.code) if r.verdict == "negative" else None   # issue 19
if tip is not None:
    st.warning(f"{tip.caveat('zh')}\n\n{tip.caveat('en')}")
rows = [("市场 Market", r.market), ("摊位 Stall", r.stall),
        ("品种 Commodity", f"{r.commodity_zh} / {r.commodity_en}"),
        ("检测时间 Tested", fmt.moment(r.tested_at)),
        ("方法 Method", f"{r.method_zh} / {r.method_en}")]
if r.value is not None:
    rows.append(("数值 Value", f"{r.value:g} {r.unit or ''}"))
st.markdown("<table style='font-size:1.3rem'>" + "".join(
    f"<tr><th style='text-align:left;padding-right:1rem'>{html.escape(k)}</th>"
    f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows) + "</table>",
    unsafe_allow_html=True)
if r.handling:
    st.subheader("处置情况 · Handling")
    for line in r.handling:
        st.markdown(f"- {plain(line)}")
retests = [x for x in r.retests if x["tested_at"] not in hidden_retests]
if retests:
    st.subheader("复检 · Re-tests")
    st.dataframe([{"方法 Method": x["method"], "结果 Verdict": widgets.ZH_WORD.get(
        x["verdict"], x["verdict"]) + f" / {x['verdict']}", "数值 Value": x["value"],
        "单位 Unit": x["unit"], "时间 Tested": fmt.moment(x["tested_at"])} for x in retests],
        hide_index=True)
if r.verdict in ("positive", "suspicious"):
    st.info(f"经营者对快检结果有异议的,可以自收到检测结果时起 {r.objection_hours:g} 小时内申请复检"
            "(《食品安全法》第八十八条),复检不得采用快速检测方法。"
            f" A vendor may object within {r.objection_hours:g} h of receiving the result and ask"
            " for a re-test, which may not use a rapid method (Food Safety Law art. 88).")
