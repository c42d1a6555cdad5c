"""On the central server: owner rows (``ResultOwner``) for results uploaded before the change
sync existed (migration 0027), so that their station may send changes to them.

The server did not note then which station uploaded a result; what it has: the result came in
through the API (``source = 'api'``) at ``created_at``, and the upload tokens (``api_token``:
station, role, created, revoked). A result is the station's when that station is the only one
holding an upload token at the time it arrived. When several stations held one, the server
cannot tell: the command refuses, naming how many and a few sample codes, unless the operator
narrows the results with ``--sample-prefix`` (codes only that station's slips carry), which
vouches for them. Results with an owner already are left alone (running it again adds nothing);
the rows added are audited (``sync.owners_backfill``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.api.tokens import API_ROLES, PERMISSION
from lims.errors import Conflict, InvalidInput, NotFound
from lims.models import ApiToken, ResultOwner, Sample, TestResult
from lims.security import audit
from lims.security.auth import Actor, require

UPLOAD_SCOPE = "readings.write"


@dataclass
class Backfill:
    station: str
    created: int = 0          # owner rows added now
    others: int = 0           # ownerless API results another station uploaded (left alone)
    unknown: int = 0          # ownerless API results no upload token was valid for
    keys: list[str] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"station": self.station, "created": self.created, "others": self.others,
                "unknown": self.unknown}


def _held(tokens: list[ApiToken], at) -> set[str]:
    """The stations holding an upload token at ``at``."""
    return {t.station for t in tokens if t.created_at <= at
            and (t.revoked_at is None or t.revoked_at >= at)}


def backfill_owners(*, session: Session, actor: Actor, station: str,
                    sample_prefix: str | None = None, dry_run: bool = False) -> Backfill:
    """Add the missing owner rows of ``station``'s results (see the module docstring)."""
    require(actor, PERMISSION)
    station = station.strip()
    uploaders = [r for r, s in API_ROLES.items() if UPLOAD_SCOPE in s.scopes]
    tokens = list(session.exec(select(ApiToken).where(ApiToken.role.in_(uploaders))))
    if station not in {t.station for t in tokens}:
        raise NotFound(f"--station {station!r}: no upload token was ever made for this station "
                       "(`lims api token list`)")
    prefix = (sample_prefix or "").strip()
    if sample_prefix is not None and not prefix:
        raise InvalidInput("--sample-prefix: give the first characters of the station's "
                           "sample codes")
    tr, so = TestResult.__table__.c, ResultOwner.__table__.c
    q = (sa.select(tr.ingest_key, tr.created_at, Sample.__table__.c.code)
         .join(Sample.__table__, Sample.__table__.c.id == tr.sample_id)
         .outerjoin(ResultOwner.__table__, so.ingest_key == tr.ingest_key)
         .where(tr.source == "api", so.id.is_(None)).order_by(tr.id))
    if prefix:
        q = q.where(Sample.__table__.c.code.startswith(prefix, autoescape=True))
    out, ambiguous = Backfill(station), []
    for key, created_at, code in session.execute(q):
        held = _held(tokens, created_at)
        if station not in held:
            out.unknown += not held
            out.others += bool(held)
        elif len(held) == 1 or prefix:
            out.keys.append(key)
        else:
            ambiguous.append((code, held))
    if ambiguous:
        names = sorted(set().union(*(h for _c, h in ambiguous)))
        codes = ", ".join(c for c, _h in ambiguous[:5])
        raise Conflict(f"{len(ambiguous)} result(s) (samples {codes}"
                       f"{' …' if len(ambiguous) > 5 else ''}) arrived while stations "
                       f"{', '.join(names)} all held upload tokens: the server cannot tell whose "
                       "they are. Nothing was changed; narrow with --sample-prefix (the codes "
                       f"only {station}'s slips carry)")
    out.created = len(out.keys)
    if out.keys and not dry_run:
        session.add_all([ResultOwner(ingest_key=k, station=station) for k in out.keys])
        session.flush()
        audit.record(session=session, actor=actor, action="sync.owners_backfill",
                     entity="station", entity_id=station,
                     new={"created": out.created, "sample_prefix": prefix,
                          "first": out.keys[0], "last": out.keys[-1]})
    return out
