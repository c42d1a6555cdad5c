"""Rapid method vs lab agreement (KJ 201902 annex A) on hand-checked tables."""

import math
from datetime import timedelta

import pytest

from lims.intake.pipeline import ReadingIn, accept_readings
from lims.reporting.agreement import agreement_report, table_stats
from lims.security.auth import SYSTEM
from tests.lims.conftest import T0, release_waiting


def test_statistics_of_a_hand_checked_table():
    # lab +: 45 rapid +, 5 rapid −  (N1. = 50); lab −: 8 rapid +, 142 rapid −  (N2. = 150)
    s = table_stats(45, 5, 8, 142)
    assert s.sensitivity == pytest.approx(0.90)          # 45/50
    assert s.specificity == pytest.approx(0.946667, abs=1e-6)   # 142/150
    assert s.false_negative_rate == pytest.approx(0.10)  # 5/50
    assert s.false_positive_rate == pytest.approx(0.053333, abs=1e-6)  # 8/150
    assert s.relative_accuracy == pytest.approx(0.935)   # 187/200
    assert s.mcnemar_chi2 == pytest.approx(4 / 13)       # (|5 − 8| − 1)² / 13
    # χ² with 1 df: p = erfc(sqrt(χ²/2)) ≈ 0.5791
    assert s.mcnemar_p == pytest.approx(math.erfc(math.sqrt((4 / 13) / 2)))
    assert s.mcnemar_p == pytest.approx(0.5791, abs=1e-4)


@pytest.mark.parametrize("n12,n21", [(5, 8), (0, 1), (30, 2), (1, 40), (200, 150)])
def test_mcnemar_p_is_scipys_chi2_with_one_degree_of_freedom(n12, n21):
    from scipy.stats import chi2

    s = table_stats(10, n12, n21, 10)
    assert s.mcnemar_p == pytest.approx(float(chi2.sf(s.mcnemar_chi2, df=1)), rel=1e-9,
                                        abs=1e-300)


def test_no_discordant_pairs_and_bad_cells():
    s = table_stats(3, 0, 0, 2)
    assert s.mcnemar_chi2 is None and s.mcnemar_p is None and s.relative_accuracy == 1.0
    assert table_stats(0, 0, 0, 0).sensitivity is None
    with pytest.raises(ValueError, match="n12"):
        table_stats(1, -1, 0, 0)


def _rapid(i, colour):
    return ReadingIn(method="ENZ-CARD", raw={"colour": colour}, tested_at=T0 + timedelta(minutes=i),
                     market="M1", vendor_stall="A01", commodity="芹菜", row=i)


def test_pairs_from_the_store(session, world):
    # (rapid colour, lab chlorpyrifos mg/kg values; celery MRL 0.05 under GB 2763-2021)
    plan = ([("unchanged", [0.2])] * 3 + [("sky_blue", [0.09])]            # N11 = 3, N12 = 1
            + [("unchanged", [0.01])] * 2 + [("sky_blue", [0.0])] * 3      # N21 = 2, N22 = 3
            + [("sky_blue", [0.01, 0.03])])                                # both within: N22 + 1
    rep = accept_readings(session=session, actor=SYSTEM, readings=[_rapid(i, c) for i, (c, _) in enumerate(plan)])
    labs = []
    for (_colour, values), stored in zip(plan, rep.stored, strict=True):
        for j, v in enumerate(values):
            labs.append(ReadingIn(method="LAB-GCMS", raw={"value": v}, analyte="毒死蜱",
                                  tested_at=T0 + timedelta(days=1, minutes=j),
                                  sample_code=stored.sample_code, retest_of_id=stored.result_id,
                                  source="confirmatory"))
    # a rapid positive whose lab result has no MRL (no chlorpyrifos row for cucumber) is left out
    extra = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-CARD", raw={"colour": "unchanged"}, tested_at=T0, market="M1",
        vendor_stall="A02", commodity="黄瓜")]).stored[0]
    labs.append(ReadingIn(method="LAB-GCMS", raw={"value": 1.0}, analyte="毒死蜱",
                          tested_at=T0 + timedelta(days=1), sample_code=extra.sample_code,
                          retest_of_id=extra.result_id))
    accept_readings(session=session, actor=SYSTEM, readings=labs)
    session.commit()
    # lab results count as the reference only once a second person released them
    assert agreement_report(session=session, method="ENZ-CARD") == []
    assert len(release_waiting(session)) == len(labs)
    session.commit()
    (row,) = agreement_report(session=session, method="ENZ-CARD")
    s = row.stats
    assert (s.n11, s.n12, s.n21, s.n22) == (3, 1, 2, 4)
    assert row.pairs == 10
    assert s.sensitivity == pytest.approx(3 / 4) and s.specificity == pytest.approx(4 / 6)
    assert s.relative_accuracy == pytest.approx(7 / 10)
    assert s.mcnemar_chi2 == pytest.approx(0.0)   # (|1 − 2| − 1)² / 3
    assert agreement_report(session=session, method="KJ-GOLD-CBF") == []
