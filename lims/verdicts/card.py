"""Method kind ``test_card``: the enzyme test card (速测卡), read by eye (domain.md §2.2).

A pad colour unchanged or faintly blue compared with the blank → positive; sky blue like the
blank → negative; a blank that did not turn blue → invalid. Entered by hand.
"""

from __future__ import annotations

from typing import Any

from lims.verdicts.core import Outcome, Verdict
from lims.verdicts.spec import JudgeContext, MethodKindSpec

RAW_KEYS = ("colour",)  # optional: blank_ok (false when the blank card failed)

CARD_POSITIVE_COLOURS = frozenset({"unchanged", "white", "faint_blue", "浅蓝", "白色", "不变色"})
CARD_NEGATIVE_COLOURS = frozenset({"blue", "sky_blue", "same_as_blank", "天蓝", "蓝色"})

_NO = ("false", "0", "no", "否")


def judge_card(colour: str | None, params: dict[str, Any] | None = None, *,
               method: str = "card", blank_ok: bool = True) -> Verdict:
    """Judge an enzyme test card by the pad's colour compared with the blank card.

    ``colour`` is a word from CARD_POSITIVE_COLOURS / CARD_NEGATIVE_COLOURS (the method's params
    may extend them with ``positive_colours`` / ``negative_colours``). A blank that did not turn
    blue (``blank_ok=False``) makes the test invalid.
    """
    params = params or {}
    pos = CARD_POSITIVE_COLOURS | set(params.get("positive_colours", ()))
    neg = CARD_NEGATIVE_COLOURS | set(params.get("negative_colours", ()))
    if not blank_ok:
        return Verdict(Outcome.INVALID, rule="card.blank",
                       reasons=("the blank card did not turn blue: enzyme inactive, test invalid",))
    word = (colour or "").strip().lower()
    if word in pos:
        return Verdict(Outcome.POSITIVE, rule="card.positive",
                       reasons=(f"pad colour {colour!r}: unchanged or faintly blue compared with "
                                "the blank → inhibited",))
    if word in neg:
        return Verdict(Outcome.NEGATIVE, rule="card.negative",
                       reasons=(f"pad colour {colour!r}: blue like the blank → not inhibited",))
    return Verdict(Outcome.INVALID, rule="card.colour",
                   reasons=(f"unknown pad colour {colour!r}; expected one of "
                            f"{sorted(pos | neg)}",))


def judge(raw: dict[str, Any], params: dict[str, Any], ctx: JudgeContext) -> Verdict:
    """A stored or typed-in card reading: ``colour`` and optional ``blank_ok``."""
    blank_ok = raw.get("blank_ok", True)
    if isinstance(blank_ok, str):
        blank_ok = blank_ok.strip().lower() not in _NO
    colour = raw.get("colour")
    return judge_card(None if colour is None else str(colour), params, method=ctx.method_code,
                      blank_ok=bool(blank_ok))


def check_params(params: dict[str, Any], code: str) -> list[tuple[str, str]]:
    """A colour may not be both positive and negative."""
    pos = set(params.get("positive_colours", ()))
    neg = set(params.get("negative_colours", ()))
    if pos & neg:
        return [("positive_colours", f"colours both positive and negative: {sorted(pos & neg)}")]
    return []


KIND = MethodKindSpec(name="test_card", raw_keys=RAW_KEYS, judge=judge,
                      label_zh="酶抑制法速测卡", label_en="Enzyme test card",
                      check_params=check_params)
