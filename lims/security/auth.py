"""Who is acting, and what each role may do.

Services that change data take ``actor: Actor`` and call ``require(actor, "permission")`` first.
The permission table is data; docs/security.md mirrors it (a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass

from lims.errors import ConfigError, PermissionDenied
from lims.models.enums import Role

#: permission → roles that hold it
PERMISSIONS: dict[str, frozenset[Role]] = {
    "results.create": frozenset({Role.FIELD_TESTER, Role.LAB_TECHNICIAN, Role.ADMIN}),
    "results.import": frozenset({Role.LAB_TECHNICIAN, Role.ADMIN}),
    "results.review": frozenset({Role.LAB_TECHNICIAN, Role.ADMIN}),   # accept held / void
    # release a result awaiting second-person release, or send it back (lims.lab.release)
    "results.release": frozenset({Role.LAB_TECHNICIAN, Role.ADMIN}),
    "results.read": frozenset(Role),
    "reference.edit": frozenset({Role.LAB_TECHNICIAN, Role.ADMIN}),   # thresholds, methods …
    "calibration.record": frozenset({Role.LAB_TECHNICIAN, Role.ADMIN}),
    "metering.record": frozenset({Role.FIELD_TESTER, Role.LAB_TECHNICIAN, Role.ADMIN}),
    "cases.manage": frozenset({Role.FIELD_TESTER, Role.LAB_TECHNICIAN, Role.MANAGER, Role.ADMIN}),
    "events.manage": frozenset({Role.FIELD_TESTER, Role.MANAGER, Role.ADMIN}),
    "reports.read": frozenset({Role.MANAGER, Role.LAB_TECHNICIAN, Role.ADMIN}),
    "users.manage": frozenset({Role.ADMIN}),
    "results.correct": frozenset({Role.LAB_TECHNICIAN, Role.ADMIN}),  # amend raw with a reason
    "audit.read": frozenset({Role.MANAGER, Role.LAB_TECHNICIAN, Role.ADMIN}),
    "data.backup": frozenset({Role.ADMIN}),
    "data.restore": frozenset({Role.ADMIN}),
    "data.demo": frozenset({Role.ADMIN}),
    "api.tokens": frozenset({Role.ADMIN}),   # create, list and revoke HTTP API tokens
    "sync.push": frozenset({Role.FIELD_TESTER, Role.LAB_TECHNICIAN, Role.ADMIN}),  # station
    "sync.pull": frozenset({Role.LAB_TECHNICIAN, Role.ADMIN}),  # replaces a station's places
    "masterdata.edit": frozenset({Role.ADMIN}),  # grid groups, markets, vendors, instruments …
    # the same, limited to the records of the manager's own county (lims.masterdata.scope)
    "masterdata.county": frozenset({Role.MANAGER, Role.ADMIN}),
}


@dataclass(frozen=True)
class Actor:
    username: str
    role: Role

    def can(self, permission: str) -> bool:
        try:
            return self.role in PERMISSIONS[permission]
        except KeyError:
            raise ConfigError(f"unknown permission {permission!r}") from None


#: The identity of the system itself (lims init, demo loader, the listener's ingest).
SYSTEM = Actor("system", Role.ADMIN)


def require(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied(f"{actor.username} ({actor.role.value}) may not {permission}")
