"""Management: rapid method vs lab agreement per method, kit lot or instrument (2×2 table,
sensitivity and specificity with Wilson intervals, McNemar, flags against the evaluation
limits), and the lab's open alerts about kit lots over the limit (``lims.lab.watch``)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from lims.storage.engine import get_engine, session_scope


@st.cache_data(ttl=60, show_spinner=False)
def grouped(db: str, start, end, by: str) -> list:
    from lims.reporting import agreement as svc

    with session_scope(get_engine()) as s:
        return svc.agreement_report(session=s, start=start, end=end, by=by)


@st.cache_data(ttl=60, show_spinner=False)
def open_lab_alerts(db: str) -> list[dict]:
    from lims.lab import watch

    with session_scope(get_engine()) as s:
        return [{"raised_at": a.raised_at, **a.details}
                for a in watch.list_alerts(session=s, open_only=True)]


identity.guard("management")
st.title(t("page.agreement"))
st.caption(t("agree.caption"))
for a in open_lab_alerts(data.db_key()):
    st.error(t("watch.lot_alert", lot=a.get("lot") or t("agree.no_lot"), method=a.get("method"),
               rate=fmt.pct(a.get("rate")), limit=fmt.pct(a.get("limit"), 0),
               fn=a.get("false_negatives"), n=a.get("lab_positives"),
               at=fmt.moment(a["raised_at"])))
f = filters.render()
groupings = ["method", "lot", "instrument"]
by = st.radio(t("agree.by"), groupings, horizontal=True, key="agree_by",
              format_func=labeller(groupings, lambda g: t(f"agree.by_{g}")))
rows = grouped(data.db_key(), f["start"], f["end"], by)
if not rows:
    st.info(t("agree.none"))
    st.stop()
limits = data.evaluation_limits(data.db_key())
st.caption(t("agree.limits", fnr=fmt.pct(limits.max_false_negative_rate, 0),
             fpr=fmt.pct(limits.max_false_positive_rate, 0), standard=limits.standard,
             status="" if limits.confirmed else t("agree.limits_unconfirmed"))
           + " " + t("agree.ci_note"))


def _ci(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"{fmt.pct(ci[0])} – {fmt.pct(ci[1])}"


table = []
for r in rows:
    s = r.stats
    group = {} if by == "method" else {
        t(f"agree.by_{by}"): r.group or t("agree.no_lot" if by == "lot" else "agree.no_instrument")}
    table.append({t("method"): r.method, **group, t("ref.name"): r.method_name,
                  t("agree.pairs"): r.pairs,
                  "N11": s.n11, "N12": s.n12, "N21": s.n21, "N22": s.n22,
                  t("agree.sensitivity"): fmt.pct(s.sensitivity),
                  t("agree.sens_ci"): _ci(s.sensitivity_ci),
                  t("agree.specificity"): fmt.pct(s.specificity),
                  t("agree.spec_ci"): _ci(s.specificity_ci),
                  t("agree.fnr"): fmt.pct(s.false_negative_rate),
                  t("agree.fpr"): fmt.pct(s.false_positive_rate),
                  t("agree.accuracy"): fmt.pct(s.relative_accuracy),
                  "McNemar χ²": None if s.mcnemar_chi2 is None else round(s.mcnemar_chi2, 3),
                  "p": None if s.mcnemar_p is None else round(s.mcnemar_p, 4),
                  t("agree.flag"): "⚠" if r.flags else ""})
def label(r) -> str:
    return r.method if by == "method" else f"{r.method} · {r.group or '—'}"


for r in rows:
    if r.flags:
        st.warning(t("agree.flagged", method=label(r), flags="; ".join(r.flags)))
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "agreement", key="agreement")
labels = [label(r) for r in rows]
pick = st.selectbox(t("method"), labels, key="agree_method")
r = rows[labels.index(pick) if pick in labels else 0]
s = r.stats
st.markdown(
    f"| | {t('agree.rapid_pos')} | {t('agree.rapid_neg')} |\n|---|---|---|\n"
    f"| **{t('agree.lab_pos')}** | N11 = {s.n11} | N12 = {s.n12} |\n"
    f"| **{t('agree.lab_neg')}** | N21 = {s.n21} | N22 = {s.n22} |")
