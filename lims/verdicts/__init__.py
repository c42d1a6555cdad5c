"""The verdict engine: how one result is judged from its raw values.

Pure functions, no database and no I/O, so that a technician can read exactly which rule decided a
verdict. Every limit comes in as a parameter (from the method's reference data or the threshold
table); nothing here is a bare constant of the domain. Rules: ../shared/docs/domain.md §2.

The package is a registry of method kinds:

* ``core.py`` — Outcome, Verdict, Limit, ParameterError, exact-decimal helpers;
* ``spec.py`` — ``MethodKindSpec`` (what a kind module declares) and ``JudgeContext`` (what its
  judge is given: method code, commodity, analyte, test day, MRL lookup);
* one module per kind — ``enzyme.py`` (enzyme_inhibition), ``card.py`` (test_card),
  ``gold.py`` (colloidal_gold), ``mrl.py`` (lab_quantitative) — each with its raw keys, its pure
  judge and ``KIND = MethodKindSpec(...)``;
* ``registry.py`` — ``judge_reading`` (the one dispatcher), ``kinds()``, ``raw_keys(kind)``;
  the kinds themselves are one line each in ``lims/refdata/method_kinds.toml``.

This module re-exports the public names, so ``from lims.verdicts import judge_enzyme`` works.
"""

from lims.verdicts.card import CARD_NEGATIVE_COLOURS, CARD_POSITIVE_COLOURS, judge_card
from lims.verdicts.core import (
    OUTCOME_WORDS,
    Limit,
    Outcome,
    ParameterError,
    Verdict,
    parse_outcome,
    same_meaning,
)
from lims.verdicts.enzyme import inhibition_percent, judge_enzyme
from lims.verdicts.gold import judge_gold
from lims.verdicts.mrl import UNIT_FACTORS_TO_MG_PER_KG, judge_mrl
from lims.verdicts.registry import (
    UnknownMethodKind,
    check_params,
    judge_reading,
    kind_spec,
    kinds,
    raw_keys,
    register_kind,
)
from lims.verdicts.spec import AnalyteInfo, CommodityInfo, JudgeContext, MethodKindSpec

__all__ = [
    "CARD_NEGATIVE_COLOURS", "CARD_POSITIVE_COLOURS", "OUTCOME_WORDS", "UNIT_FACTORS_TO_MG_PER_KG",
    "AnalyteInfo", "CommodityInfo", "JudgeContext", "Limit", "MethodKindSpec", "Outcome",
    "ParameterError", "UnknownMethodKind", "Verdict", "check_params", "inhibition_percent",
    "judge_card", "judge_enzyme", "judge_gold", "judge_mrl", "judge_reading", "kind_spec",
    "kinds", "parse_outcome", "raw_keys", "register_kind", "same_meaning",
]
