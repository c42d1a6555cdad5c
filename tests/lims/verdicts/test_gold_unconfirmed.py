"""Issue 16: the gold kits' cut-offs are placeholders (confirmed = false in methods.toml): every
verdict of such a kit says so; a kit with confirmed parameters does not."""

import tomllib

from lims.reference.loader import REFDATA
from lims.verdicts.gold import KIT_UNCONFIRMED, judge_gold

KITS = [m for m in tomllib.loads((REFDATA / "methods.toml").read_text(encoding="utf-8"))["method"]
        if m["kind"] == "colloidal_gold"]


def test_every_shipped_gold_kit_verdict_says_unconfirmed():
    assert len(KITS) == 3
    for kit in KITS:
        params = kit["params"]
        assert params["confirmed"] is False and "UNCONFIRMED" in params["sources"]["cutoff"]
        for t, c in ((0.4, 1.0), (1.5, 1.0), (1.0, 0.0), (None, 1.0)):
            v = judge_gold(t, c, params, method=kit["code"])
            assert KIT_UNCONFIRMED in v.reasons, (kit["code"], t, c, v.reasons)
            assert v.threshold["confirmed"] is False


def test_confirmed_kit_has_no_note():
    v = judge_gold(0.4, 1.0, {"cutoff": 1.0, "min_c": 0.1, "direction": "competitive"})
    assert v.outcome == "positive" and KIT_UNCONFIRMED not in v.reasons
    assert v.threshold["confirmed"] is True
