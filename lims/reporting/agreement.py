"""Rapid method against the lab (SAMR rapid-method evaluation, KJ 201902 annex A; domain.md §2.5).

Every rapid result with a confirmatory (non-rapid) re-test is a pair. The lab is the reference:
lab positive = any confirmatory result of the rapid result exceeds its MRL (noncompliant); lab
negative = all compliant. Rapid positive = positive or suspicious; invalid results and
undecided lab results (no MRL) are left out.

2×2 table (rows: lab reference; columns: rapid method):

            rapid +   rapid −
    lab +     N11       N12      N1.
    lab −     N21       N22      N2.

sensitivity = N11/N1., specificity = N22/N2., false-negative rate = N12/N1.,
false-positive rate = N21/N2., relative accuracy = (N11+N22)/(N1.+N2.),
McNemar χ² = (|N12−N21|−1)²/(N12+N21) with df = 1 (p = P(χ²₁ > x) = erfc(√(x/2)), the closed
form for one degree of freedom: the same as scipy's ``chi2.sf(x, 1)`` without importing scipy
on a page).

Sensitivity and specificity come with 95 % Wilson score intervals (``lims.reporting.stats``; the
same as scipy's ``binomtest(k, n).proportion_ci(method="wilson")``). A kit is flagged when its
false-negative or false-positive rate (the point estimate) exceeds the evaluation limits of
``lims/refdata/rapid_evaluation.toml`` (read on each report; shipped unconfirmed, and the flag
says so).

The tables can be split by kit lot (``by="lot"``: the lot recorded on the rapid result,
``lims.models.kits``; results without one form a "no lot recorded" row per method) or by
instrument (``by="instrument"``: the instrument that made the rapid reading; none for typed or
card results). ``lims.lab.watch`` alerts the lab when a lot goes over the limit.
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from lims.errors import ConfigError, InvalidInput
from lims.intake.retests import COUNTED
from lims.models import Instrument, Kit, KitLot, Method, TestResult
from lims.models.enums import NOT_SHOWN_STATUSES
from lims.reporting.stats import wilson_interval

EVALUATION_FILE = Path(__file__).resolve().parent.parent / "refdata" / "rapid_evaluation.toml"

RAPID_POSITIVE = ("positive", "suspicious")
RAPID_NEGATIVE = ("negative",)
GROUPINGS = ("method", "lot", "instrument")


@dataclass(frozen=True)
class AgreementStats:
    n11: int
    n12: int
    n21: int
    n22: int
    sensitivity: float | None
    specificity: float | None
    false_negative_rate: float | None
    false_positive_rate: float | None
    relative_accuracy: float | None
    mcnemar_chi2: float | None
    mcnemar_p: float | None
    sensitivity_ci: tuple[float, float] | None = None   # 95 % Wilson
    specificity_ci: tuple[float, float] | None = None

    @property
    def n(self) -> int:
        return self.n11 + self.n12 + self.n21 + self.n22


@dataclass(frozen=True)
class AgreementRow:
    method: str
    method_name: str
    kind: str
    pairs: int
    stats: AgreementStats
    flags: tuple[str, ...] = ()   # evaluation limits exceeded (with "unconfirmed" if so)
    group: str = ""               # by lot: "KIT/LOT" ("" = none recorded); by instrument: serial
    kit_lot_id: int | None = None
    instrument_id: int | None = None
    method_id: int | None = None


@dataclass(frozen=True)
class EvaluationLimits:
    """The acceptance limits a rapid method is held to (rapid_evaluation.toml)."""

    max_false_negative_rate: float
    max_false_positive_rate: float
    confirmed: bool
    standard: str
    source: str


def read_evaluation_limits(path: Path = EVALUATION_FILE) -> EvaluationLimits:
    """The limits from ``path``; a missing, malformed or out-of-range value raises ConfigError."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("limits", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{Path(path).name}: {exc}") from None
    values = {}
    for key in ("max_false_negative_rate", "max_false_positive_rate"):
        v = data.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise ConfigError(f"{Path(path).name} [limits] {key}: expected a rate between 0 "
                              f"and 1, got {v!r}")
        values[key] = float(v)
    return EvaluationLimits(**values, confirmed=data.get("confirmed") is True,
                            standard=str(data.get("standard", "")),
                            source=str(data.get("source", "")))


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %".replace(".0 %", " %")


def evaluation_flags(s: AgreementStats, limits: EvaluationLimits) -> tuple[str, ...]:
    """One message per rate above its limit, e.g. "false-negative rate 10 % > 5 % …"."""
    note = "" if limits.confirmed else " (limit unconfirmed: check the KJ method)"
    out = []
    for name, rate, limit in (("false-negative", s.false_negative_rate,
                               limits.max_false_negative_rate),
                              ("false-positive", s.false_positive_rate,
                               limits.max_false_positive_rate)):
        if rate is not None and rate > limit:
            out.append(f"{name} rate {_pct(rate)} > {_pct(limit)} ({limits.standard}){note}")
    return tuple(out)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _wilson(k: int, n: int) -> tuple[float, float] | None:
    return wilson_interval(k, n) if n else None


def table_stats(n11: int, n12: int, n21: int, n22: int) -> AgreementStats:
    """The statistics of one 2×2 table (rows lab +/−, columns rapid +/−)."""
    for name, v in (("n11", n11), ("n12", n12), ("n21", n21), ("n22", n22)):
        if v < 0:
            raise InvalidInput(f"agreement table: {name} must not be negative, got {v}")
    r1, r2 = n11 + n12, n21 + n22
    discordant = n12 + n21
    x2 = p = None
    if discordant:
        x2 = (abs(n12 - n21) - 1) ** 2 / discordant
        p = math.erfc(math.sqrt(x2 / 2))   # P(χ²₁ > x2)
    return AgreementStats(n11, n12, n21, n22, _ratio(n11, r1), _ratio(n22, r2), _ratio(n12, r1),
                          _ratio(n21, r2), _ratio(n11 + n22, r1 + r2), x2, p,
                          _wilson(n11, r1), _wilson(n22, r2))


def pairs(*, session: Session, method: str | None = None, start: date | None = None,
          end: date | None = None) -> list[tuple[TestResult, bool, bool]]:
    """(rapid result, rapid positive?, lab positive?) for every decided pair."""
    methods = {m.id: m for m in session.exec(select(Method))}
    lab_ids = [i for i, m in methods.items() if not m.is_rapid]
    confirm: dict[int, list[str]] = defaultdict(list)
    for parent, verdict in session.exec(
            select(TestResult.retest_of_id, TestResult.verdict)
            .where(TestResult.retest_of_id.is_not(None), TestResult.method_id.in_(lab_ids),
                   TestResult.status.in_(COUNTED))):   # held lab results (awaiting release) wait
        confirm[parent].append(verdict)
    if not confirm:
        return []
    q = select(TestResult).where(TestResult.id.in_(list(confirm)), TestResult.status.not_in(NOT_SHOWN_STATUSES))
    if start:
        q = q.where(TestResult.local_date >= start)
    if end:
        q = q.where(TestResult.local_date <= end)
    out = []
    for r in session.exec(q.order_by(TestResult.id)):
        m = methods[r.method_id]
        if not m.is_rapid or (method and m.code.lower() != method.strip().lower()):
            continue
        if r.verdict not in RAPID_POSITIVE + RAPID_NEGATIVE:
            continue
        lab = confirm[r.id]
        if "noncompliant" in lab:
            lab_pos = True
        elif lab and all(v == "compliant" for v in lab):
            lab_pos = False
        else:
            continue
        out.append((r, r.verdict in RAPID_POSITIVE, lab_pos))
    return out


def _group_labels(session: Session, by: str, ids: set[int]) -> dict[int, str]:
    if by == "lot" and ids:
        return {lot.id: f"{kit.code}/{lot.lot}" for lot, kit in session.exec(
            select(KitLot, Kit).join(Kit, Kit.id == KitLot.kit_id).where(KitLot.id.in_(ids)))}
    if by == "instrument" and ids:
        return {i.id: i.serial_no for i in session.exec(
            select(Instrument).where(Instrument.id.in_(ids)))}
    return {}


def agreement_report(*, session: Session, method: str | None = None, start: date | None = None,
                     end: date | None = None, limits: EvaluationLimits | None = None,
                     by: str = "method") -> list[AgreementRow]:
    """One 2×2 table with its statistics per rapid method (a kit is a method code), or per
    method and kit lot (``by="lot"``) or per method and instrument (``by="instrument"``),
    flagged against ``limits`` (default: rapid_evaluation.toml)."""
    if by not in GROUPINGS:
        raise InvalidInput(f"agreement: group by one of {', '.join(GROUPINGS)}, not {by!r}")
    limits = read_evaluation_limits() if limits is None else limits
    methods = {m.id: m for m in session.exec(select(Method))}
    if method and not any(m.code.lower() == method.strip().lower() for m in methods.values()):
        from lims.errors import NotFound

        raise NotFound(f"unknown method {method!r}")
    cells: dict[tuple[int, int | None], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r, rapid_pos, lab_pos in pairs(session=session, method=method, start=start, end=end):
        idx = (0 if rapid_pos else 1) if lab_pos else (2 if rapid_pos else 3)
        sub = r.kit_lot_id if by == "lot" else r.instrument_id if by == "instrument" else None
        cells[(r.method_id, sub)][idx] += 1
    labels = _group_labels(session, by, {k[1] for k in cells if k[1] is not None})
    rows = []
    for (mid, sub), (n11, n12, n21, n22) in sorted(
            cells.items(), key=lambda kv: (methods[kv[0][0]].code, labels.get(kv[0][1], ""))):
        m = methods[mid]
        stats = table_stats(n11, n12, n21, n22)
        rows.append(AgreementRow(m.code, m.name_en, m.kind, n11 + n12 + n21 + n22, stats,
                                 evaluation_flags(stats, limits), group=labels.get(sub, ""),
                                 kit_lot_id=sub if by == "lot" else None,
                                 instrument_id=sub if by == "instrument" else None,
                                 method_id=mid))
    return rows
