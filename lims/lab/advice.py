"""Next-test advice (issue 19): what a negative enzyme screen cannot say, and what to do next.

The enzyme-inhibition method (GB/T 5009.199) and the enzyme test card only see
acetylcholinesterase inhibitors at high enough levels; ``analytes.csv`` marks the pesticides they
cannot see at MRL level (``enzyme_blind_spot``: chlorpyrifos, the neonicotinoids …).

**Which pesticides are likely for a commodity.** The reference data has no "likely pesticides"
list, so it is derived from what is there: a blind-spot pesticide is *likely* for a commodity
when GB 2763 sets a limit for it on that commodity or on its Annex A group (``thresholds.csv``
row for the commodity, or for its group in ``commodity_groups.csv``) — a limit that specific
means the pesticide is registered for and used on such crops. Category-wide rows ("蔬菜") are
too broad to say that and are left out. Banned pesticides without a limit are not listed.

For such a commodity, a negative enzyme or card screen is not a "safe" result:
``advice_for`` returns what the slip, the field page and the public page show instead —
"not detected (this method cannot see X at its limit)" — and the next test: the colloidal gold
strip for a pesticide that has one (``methods.toml``: a rapid ``colloidal_gold`` method whose
analyte is X), a lab sample for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from lims.errors import NotFound
from lims.models import Commodity, Method, TestResult
from lims.models.enums import NOT_SHOWN_STATUSES
from lims.reference.lookup import RefCache

ENZYME_KINDS = ("enzyme_inhibition", "test_card")
LIKELY_SCOPES = ("commodity", "group")
MAX_NAMED = 4   # the names the short caveat lists (the rest as "…")


@dataclass(frozen=True)
class Pesticide:
    name_zh: str
    name_en: str
    gold_method: str | None     # the colloidal gold strip for it, if there is one


@dataclass(frozen=True)
class NextTestAdvice:
    commodity_zh: str
    commodity_en: str
    blind_spots: tuple[Pesticide, ...]

    @property
    def gold_methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.gold_method for p in self.blind_spots if p.gold_method))

    @property
    def needs_lab(self) -> bool:
        """Some likely pesticide has no gold strip: only the lab can show it."""
        return any(p.gold_method is None for p in self.blind_spots)

    def names(self, lang: str) -> str:
        names = [p.name_zh if lang == "zh" else p.name_en for p in self.blind_spots]
        sep = "、" if lang == "zh" else ", "
        return sep.join(names[:MAX_NAMED]) + (sep + "…" if len(names) > MAX_NAMED else "")

    def caveat(self, lang: str = "zh") -> str:
        """The words a negative reads as, e.g. "未检出(本法对毒死蜱不敏感,建议胶体金/送检)"."""
        if lang == "zh":
            return f"未检出(本法对{self.names('zh')}不敏感,建议胶体金/送检)"
        return (f"not detected (this method cannot see {self.names('en')} at its limit; "
                "use a gold strip or send to the lab)")


def likely_blind_spots(cache: RefCache, commodity: Commodity,
                       on: date | None = None) -> tuple[Pesticide, ...]:
    """The blind-spot pesticides likely on ``commodity`` (see the module docstring)."""
    gold = {m.analyte_id: m.code for m in sorted(cache.method_by_id.values(),
                                                   key=lambda m: m.code)
            if m.kind == "colloidal_gold" and m.is_rapid and m.analyte_id is not None
            and getattr(m, "active", True)}
    out = []
    for a in sorted(cache.analyte_by_id.values(), key=lambda a: a.name_en):
        if not a.enzyme_blind_spot:
            continue
        limit = cache.limit(a, commodity, on)
        if limit is None or getattr(limit, "scope", "commodity") not in LIKELY_SCOPES:
            continue
        out.append(Pesticide(a.name_zh, a.name_en, gold.get(a.id)))
    return tuple(sorted(out, key=lambda p: (p.gold_method is None, p.name_en)))


def advice_for(*, cache: RefCache, method: Method, commodity: Commodity, verdict: str,
               on: date | None = None) -> NextTestAdvice | None:
    """The advice for a result of ``method`` on ``commodity`` judged ``verdict``: None unless
    it is a negative enzyme (or enzyme card) screen of a commodity with likely blind spots."""
    if verdict != "negative" or method.kind not in ENZYME_KINDS:
        return None
    spots = likely_blind_spots(cache, commodity, on)
    if not spots:
        return None
    return NextTestAdvice(commodity.name_zh, commodity.name_en, spots)


def advice_for_result(*, session: Session, result_id: int,
                      cache: RefCache | None = None) -> NextTestAdvice | None:
    r = session.get(TestResult, result_id)
    if r is None:
        raise NotFound(f"no test result with id {result_id}")
    cache = cache or RefCache.load(session)
    method = cache.method_by_id.get(r.method_id) or session.get(Method, r.method_id)
    commodity = cache.commodity_by_id.get(r.commodity_id) or session.get(Commodity, r.commodity_id)
    return advice_for(cache=cache, method=method, commodity=commodity, verdict=r.verdict,
                      on=r.local_date)


def advice_for_sample(*, session: Session, code: str,
                      cache: RefCache | None = None) -> NextTestAdvice | None:
    """The advice of a sample's newest rapid screen result (by sample code), if any."""
    from lims.models import Sample

    sample = session.exec(select(Sample).where(Sample.code == code.strip().upper())).first()
    if sample is None:
        return None
    r = session.exec(select(TestResult).where(TestResult.sample_id == sample.id,
                                              TestResult.status.not_in(NOT_SHOWN_STATUSES))
                     .order_by(TestResult.tested_at.desc(), TestResult.id.desc())).first()
    if r is None:
        return None
    return advice_for_result(session=session, result_id=r.id, cache=cache)


__all__ = ["NextTestAdvice", "Pesticide", "advice_for", "advice_for_result",
           "advice_for_sample", "likely_blind_spots"]
