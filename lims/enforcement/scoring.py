"""How well each case was handled, per grid group and month (issue 15).

Every case opened in a month is scored once, in this order:

* **lacking evidence** — closed as a confirmed positive with neither a recorded disposal (what was
  done with the produce, and when) nor a photo attached to the case (``lims.files.attachments``);
* **late** — staff arrived after the alert target, or the case was closed more than
  ``close_within_hours`` after it opened, or it is still open past that deadline;
* **on time** — closed within the deadline, with staff on site within the alert target (a case
  whose alert nobody recorded an arrival for is late);
* **open** — still open and not yet past its deadline: not scored yet.

The deadline lives in ``refdata/enforcement.toml`` ``[case_handling]`` with its source; it is
local practice, marked unconfirmed, for each bureau to set.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from lims.enforcement.rules import ENFORCEMENT_FILE
from lims.errors import ConfigError
from lims.files.attachments import cases_with_photos
from lims.models import Alert, EnforcementCase, GridGroup, Market
from lims.timeutil import local_tz, now

SCORES = ("on_time", "late", "lacking_evidence", "open")


@dataclass(frozen=True)
class HandlingRule:
    close_within: timedelta
    source: str
    confirmed: bool


def load_handling_rule(path: Path = ENFORCEMENT_FILE) -> HandlingRule:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        section = data["case_handling"]
        hours = float(section["close_within_hours"])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path.name}: {exc}") from None
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{path.name}: [case_handling] close_within_hours must be a number "
                          "of hours") from None
    if hours <= 0 or not section.get("source"):
        raise ConfigError(f"{path.name}: [case_handling] needs close_within_hours > 0 and a "
                          "source")
    return HandlingRule(timedelta(hours=hours), str(section["source"]),
                        bool(section.get("confirmed", False)))


def score_case(case: EnforcementCase, alert: Alert | None, rule: HandlingRule,
               at: datetime, has_photo: bool = False) -> str:
    """``has_photo``: a photo is attached to the case (evidence, as a recorded disposal is)."""
    deadline = case.opened_at + rule.close_within
    if (case.status == "closed" and case.outcome == "confirmed" and not case.disposal
            and not has_photo):
        return "lacking_evidence"
    if case.status != "closed":
        return "late" if at > deadline else "open"
    arrived_late = (alert is None or alert.arrived_at is None
                    or alert.arrived_at - alert.raised_at > timedelta(minutes=alert.target_minutes))
    closed_late = case.closed_at is None or case.closed_at > deadline
    return "late" if arrived_late or closed_late else "on_time"


@dataclass(frozen=True)
class HandlingRow:
    grid_group: str
    month: str
    cases: int
    on_time: int
    late: int
    lacking_evidence: int
    open: int

    @property
    def share_on_time(self) -> float | None:
        scored = self.on_time + self.late + self.lacking_evidence
        return self.on_time / scored if scored else None


def handling_report(*, session: Session, year: int | None = None, at: datetime | None = None,
                    rule: HandlingRule | None = None) -> list[HandlingRow]:
    """One row per grid group and month (local time of opening) of the cases opened."""
    rule = rule or load_handling_rule()
    at = at or now()
    tz = local_tz()
    q = (select(EnforcementCase, Alert, GridGroup.name)
         .join(Alert, Alert.result_id == EnforcementCase.result_id, isouter=True)
         .join(Market, Market.id == EnforcementCase.market_id, isouter=True)
         .join(GridGroup, GridGroup.id == Market.grid_group_id, isouter=True))
    tally: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(SCORES, 0))
    photographed = cases_with_photos(session)
    for case, alert, group in session.exec(q):
        month = case.opened_at.astimezone(tz).strftime("%Y-%m")
        if year is not None and not month.startswith(f"{year}-"):
            continue
        tally[(group or "—", month)][score_case(case, alert, rule, at,
                                                 has_photo=case.id in photographed)] += 1
    return [HandlingRow(grid_group=g, month=m, cases=sum(c.values()), **c)
            for (g, m), c in sorted(tally.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
