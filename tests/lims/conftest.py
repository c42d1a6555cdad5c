"""Shared by the tests of lims/: a small world of two grid groups, markets, vendors, an actor."""

from datetime import datetime

import pytest

from lims.models import GridGroup, Market, User, Vendor
from lims.models.enums import Role
from lims.security.auth import Actor
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)
TESTER = Actor("tester", Role.FIELD_TESTER)
MANAGER = Actor("boss", Role.MANAGER)


@pytest.fixture
def world(session):
    g1 = GridGroup(name="城东网格", county="城关区", staff=["李四", "王五"])
    g2 = GridGroup(name="城西网格", county="城关区", staff=["赵六"])
    session.add_all([g1, g2])
    session.flush()
    m1 = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers", grid_group_id=g1.id)
    m2 = Market(code="M2", name="城西农贸市场", county="城关区", kind="farmers", grid_group_id=g2.id)
    m3 = Market(code="M3", name="北门夜市", county="城关区", kind="night_market")
    session.add_all([m1, m2, m3])
    session.flush()
    vendors = {}
    for market, stall in ((m1, "A01"), (m1, "A02"), (m1, "A03"), (m1, "A04"), (m2, "B01")):
        v = Vendor(market_id=market.id, stall=stall, name=f"vendor {stall}", credit_grade="A")
        session.add(v)
        vendors[stall] = v
    session.add(User(username="west", role="field_tester", grid_group_id=g2.id))
    session.commit()
    return {"g1": g1, "g2": g2, "m1": m1, "m2": m2, "m3": m3, "vendors": vendors}


#: the second person who releases lab results (``lims.lab.release``) in tests that need them
#: to count; they are recorded by other users (SYSTEM or named testers)
RELEASER = Actor("second-lab-tech", Role.LAB_TECHNICIAN)


def release_waiting(session) -> list[int]:
    """Release every lab result that awaits second-person release; returns their ids."""
    from lims.lab import release

    ids = [r["id"] for r in release.pending(session=session)]
    for rid in ids:
        release.release(session=session, actor=RELEASER, result_id=rid)
    return ids
