"""docs/security.md states the PERMISSIONS table and the shipped policy exactly."""

from __future__ import annotations

import re
from pathlib import Path

from lims.models.enums import Role
from lims.security.auth import PERMISSIONS
from lims.security.policy import load_policy

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"


def _block(name: str) -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {name}:start -->(.*?)<!-- {name}:end -->", text, flags=re.S)
    assert m, f"docs/security.md has no {name} block"
    rows = [line.strip().strip("|").split("|") for line in m.group(1).strip().splitlines()]
    return [[c.strip() for c in r] for r in rows[2:]]  # skip header and rule


def test_permission_table_matches_the_code():
    header = DOC.read_text(encoding="utf-8").split("<!-- permissions:start -->")[1]
    roles = [c.strip() for c in header.strip().splitlines()[0].strip("|").split("|")[1:5]]
    assert roles == [r.value for r in Role]
    documented = {}
    for row in _block("permissions"):
        perm = row[0].strip("`")
        documented[perm] = frozenset(r for r, mark in zip(Role, row[1:5], strict=True)
                                     if mark == "✓")
        assert row[5], f"{perm}: say what it allows"
    expected_rows = "\n".join(
        f"| `{p}` | " + " | ".join("✓" if r in roles else "" for r in Role) + " | … |"
        for p, roles in PERMISSIONS.items())
    assert documented == PERMISSIONS, (
        "docs/security.md permission table differs from lims/security/auth.py PERMISSIONS; "
        f"it should read:\n{expected_rows}")


def test_policy_table_matches_the_shipped_policy():
    p = load_policy()
    rows = {r[0]: r[1] for r in _block("policy")}
    assert rows["failed logins before lock-out"] == str(p.max_failed)
    assert rows["lock-out"] == f"{int(p.lockout.total_seconds() // 60)} minutes"
    assert rows["app session idle time-out"] == f"{int(p.session_idle.total_seconds() // 60)} minutes"
    assert rows["app session maximum age"] == f"{int(p.session_max.total_seconds() // 3600)} hours"
    assert rows["password length"] == f"{p.password_min_length} to {p.password_max_length} characters"
    assert rows["character classes"].startswith(f"at least {p.password_min_classes} of")


def test_referenced_test_files_exist():
    text = DOC.read_text(encoding="utf-8")
    for path in set(re.findall(r"`(tests/[\w/]+\.py)`", text)):
        assert (DOC.parents[1] / path).is_file(), path
