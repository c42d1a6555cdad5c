"""Management: rapid method vs lab agreement per method (2×2 table, sensitivity and specificity
with Wilson intervals, McNemar, flags against the evaluation limits)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t

identity.guard("management")
st.title(t("page.agreement"))
st.caption(t("agree.caption"))
f = filters.render()
rows = data.agreement(data.db_key(), f["start"], f["end"])
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
    table.append({t("method"): r.method, t("ref.name"): r.method_name, t("agree.pairs"): r.pairs,
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
for r in rows:
    if r.flags:
        st.warning(t("agree.flagged", method=r.method, flags="; ".join(r.flags)))
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "agreement", key="agreement")
pick = st.selectbox(t("method"), [r.method for r in rows], key="agree_method")
r = next(x for x in rows if x.method == pick)
s = r.stats
st.markdown(
    f"| | {t('agree.rapid_pos')} | {t('agree.rapid_neg')} |\n|---|---|---|\n"
    f"| **{t('agree.lab_pos')}** | N11 = {s.n11} | N12 = {s.n12} |\n"
    f"| **{t('agree.lab_neg')}** | N21 = {s.n21} | N22 = {s.n22} |")
