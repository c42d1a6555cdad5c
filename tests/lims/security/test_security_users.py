"""Users, passwords, lock-out and app sessions (on SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from lims.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    SessionExpired,
)
from lims.models import AppSession, AuditEvent, User
from lims.models.enums import Role
from lims.security import sessions, users
from lims.security.auth import SYSTEM, Actor
from lims.security.policy import load_policy, parse_policy
from lims.timeutil import now

PW = "Correct-horse-9"
ADMIN = Actor("boss", Role.ADMIN)


def _add(session, name, role=Role.FIELD_TESTER, password=PW):
    users.add_user(session=session, actor=SYSTEM, username=name, role=role, password=password)
    session.commit()


def _user(engine, name) -> User:
    with Session(engine) as s:
        return s.exec(select(User).where(User.username == name)).one()


def test_password_is_stored_as_argon2id_hash_and_authenticates(session):
    _add(session, "alice", Role.LAB_TECHNICIAN)
    stored = session.exec(select(User).where(User.username == "alice")).one().password_hash
    assert stored.startswith("$argon2id$") and PW not in stored
    actor = users.authenticate(session=session, username="alice", password=PW)
    assert actor == Actor("alice", Role.LAB_TECHNICIAN)


@pytest.mark.parametrize("password, rule", [
    ("Short-1", "at least 10 characters"),
    ("alllowercaseletters", "mix at least 2"),
    ("Xcarol-2024-pass", "must not contain the username"),
    (" Leading-space-1", "spaces"),
])
def test_password_policy_names_the_rule(session, password, rule):
    with pytest.raises(users.WeakPassword, match=rule) as exc:
        users.add_user(session=session, actor=SYSTEM, username="carol", role="manager",
                       password=password)
    assert str(exc.value).startswith("password:")
    assert session.exec(select(User).where(User.username == "carol")).first() is None


@pytest.mark.parametrize("name", ["a", "has space", "x" * 61, "semi;colon", "system", "O'Brien"])
def test_bad_usernames_are_refused(session, name):
    with pytest.raises(ValueError, match="username"):
        users.add_user(session=session, actor=SYSTEM, username=name, role="manager", password=PW)


def test_unknown_role_is_refused_naming_the_roles(session):
    with pytest.raises(ValueError, match="field_tester, lab_technician, manager, admin"):
        users.add_user(session=session, actor=SYSTEM, username="dave", role="boss", password=PW)


def test_lockout_after_policy_failures_survives_rollback_and_expires(engine):
    policy = load_policy()
    with Session(engine) as s:
        _add(s, "eve")
    refused = users.login_failed_message(policy)   # one answer that reveals nothing (issue 18)
    for i in range(1, policy.max_failed):
        with Session(engine) as s, pytest.raises(AuthenticationFailed) as exc:
            users.authenticate(session=s, username="eve", password="wrong")
        assert str(exc.value) == refused
        assert _user(engine, "eve").failed_logins == i  # counted although the caller rolled back
        assert _user(engine, "eve").locked_until is None
    with Session(engine) as s, pytest.raises(AuthenticationFailed) as exc:
        users.authenticate(session=s, username="eve", password="wrong")
    assert str(exc.value) == refused
    locked_until = _user(engine, "eve").locked_until
    assert locked_until is not None
    expected = now() + policy.lockout
    assert abs((locked_until - expected).total_seconds()) < 60
    # while locked even the right password is refused, with the same message
    with Session(engine) as s, pytest.raises(AuthenticationFailed) as exc:
        users.authenticate(session=s, username="eve", password=PW)
    assert str(exc.value) == refused
    with Session(engine) as s:
        assert [e.action for e in s.exec(select(AuditEvent).where(
            AuditEvent.entity_id == "eve"))] == ["user.add", "user.lock"]
        # the lock runs out
        u = s.exec(select(User).where(User.username == "eve")).one()
        u.locked_until = now() - timedelta(seconds=1)
        s.add(u)
        s.commit()
    with Session(engine) as s:
        assert users.authenticate(session=s, username="eve", password=PW).username == "eve"
        s.commit()
    assert _user(engine, "eve").failed_logins == 0


def test_lockout_numbers_come_from_the_policy(engine):
    strict = replace(load_policy(), max_failed=2)
    with Session(engine) as s:
        _add(s, "frank")
    with Session(engine) as s, pytest.raises(AuthenticationFailed, match="after 2 failed"):
        users.authenticate(session=s, username="frank", password="nope", policy=strict)
    assert _user(engine, "frank").locked_until is None
    with Session(engine) as s, pytest.raises(AuthenticationFailed):
        users.authenticate(session=s, username="frank", password="nope", policy=strict)
    assert _user(engine, "frank").locked_until is not None


def test_admin_unlock_and_password_reset_clear_the_lock(session):
    _add(session, "gina")
    u = session.exec(select(User).where(User.username == "gina")).one()
    u.locked_until = now() + timedelta(hours=1)
    session.add(u)
    session.commit()
    users.unlock_user(session=session, actor=ADMIN, username="gina", reason="called the desk")
    assert users.authenticate(session=session, username="gina", password=PW).username == "gina"


def test_unknown_user_and_disabled_user_are_refused(session):
    _add(session, "hank")
    with pytest.raises(AuthenticationFailed, match="wrong username or password"):
        users.authenticate(session=session, username="nobody", password=PW)
    with pytest.raises(AuthenticationFailed, match="wrong username or password"):
        users.authenticate(session=session, username="hank", password="")
    users.disable_user(session=session, actor=ADMIN, username="hank", reason="left the team")
    session.commit()
    with pytest.raises(AuthenticationFailed) as exc:   # the same answer as for "nobody"
        users.authenticate(session=session, username="hank", password=PW)
    assert str(exc.value) == users.login_failed_message(load_policy())
    with pytest.raises(ValueError, match="reason"):
        users.disable_user(session=session, actor=ADMIN, username="hank", reason="  ")


@pytest.mark.parametrize("role", [Role.FIELD_TESTER, Role.LAB_TECHNICIAN, Role.MANAGER])
def test_only_admins_manage_users(session, role):
    _add(session, "ivy")
    actor = Actor("someone", role)
    with pytest.raises(PermissionDenied):
        users.add_user(session=session, actor=actor, username="jack", role="admin", password=PW)
    with pytest.raises(PermissionDenied):
        users.list_users(session=session, actor=actor)
    with pytest.raises(PermissionDenied):
        users.disable_user(session=session, actor=actor, username="ivy", reason="x")
    with pytest.raises(PermissionDenied):
        users.unlock_user(session=session, actor=actor, username="ivy", reason="x")
    with pytest.raises(PermissionDenied):
        users.set_password(session=session, actor=actor, username="ivy", password="Other-pass-77")
    assert session.exec(select(User).where(User.username == "jack")).first() is None


def test_a_user_changes_their_own_password_with_the_current_one(session):
    _add(session, "kim")
    kim = Actor("kim", Role.FIELD_TESTER)
    with pytest.raises(ValueError, match="current password"):
        users.set_password(session=session, actor=kim, username="kim", password="New-secret-42")
    with pytest.raises(AuthenticationFailed, match="current password is wrong"):
        users.set_password(session=session, actor=kim, username="kim", password="New-secret-42",
                           current_password="guess")
    users.set_password(session=session, actor=kim, username="kim", password="New-secret-42",
                       current_password=PW)
    session.commit()
    assert users.authenticate(session=session, username="kim", password="New-secret-42")
    with pytest.raises(AuthenticationFailed):
        users.authenticate(session=session, username="kim", password=PW)


def test_user_changes_are_audited_without_the_hash(session):
    _add(session, "lee", Role.MANAGER)
    users.set_password(session=session, actor=ADMIN, username="lee", password="Another-pw-55")
    users.disable_user(session=session, actor=ADMIN, username="lee", reason="moved away")
    session.commit()
    evs = list(session.exec(select(AuditEvent).where(AuditEvent.entity == "user",
                                                     AuditEvent.entity_id == "lee")
                            .order_by(AuditEvent.id)))
    assert [e.action for e in evs] == ["user.add", "user.password", "user.disable"]
    assert evs[2].old["active"] is True and evs[2].new["active"] is False
    assert evs[2].reason == "moved away" and evs[2].actor == "boss"
    stored = session.exec(select(User).where(User.username == "lee")).one().password_hash
    for e in evs:
        assert "argon2" not in str(e.new) and stored not in str(e.new)


def test_first_admin_only_once(session):
    users.create_first_admin(session=session, username="root1", password=PW)
    session.commit()
    with pytest.raises(PermissionDenied, match="only once"):
        users.create_first_admin(session=session, username="root2", password=PW)


# ---- app sessions ---------------------------------------------------------------------------


def test_session_round_trip_and_logout(session):
    _add(session, "mia", Role.LAB_TECHNICIAN)
    actor = users.authenticate(session=session, username="mia", password=PW)
    token = sessions.create_session(session=session, actor=actor)
    session.commit()
    assert len(token) >= 40
    stored = session.exec(select(AppSession)).one()
    assert stored.token_hash != token and token not in stored.token_hash
    assert sessions.resolve_session(session=session, token=token) == actor
    sessions.end_session(session=session, token=token)
    session.commit()
    with pytest.raises(SessionExpired, match="ended"):
        sessions.resolve_session(session=session, token=token)
    with pytest.raises(SessionExpired, match="not logged in"):
        sessions.resolve_session(session=session, token="forged-token")
    with pytest.raises(SessionExpired):
        sessions.resolve_session(session=session, token=None)


def test_session_expires_when_idle_and_at_max_age(session):
    policy = load_policy()
    _add(session, "ned")
    actor = Actor("ned", Role.FIELD_TESTER)
    idle = sessions.create_session(session=session, actor=actor)
    old = sessions.create_session(session=session, actor=actor)
    rows = {r.id: r for r in session.exec(select(AppSession).order_by(AppSession.id))}
    first, second = sorted(rows)
    rows[first].last_seen_at = now() - policy.session_idle - timedelta(seconds=1)
    rows[second].expires_at = now() - timedelta(seconds=1)
    session.add_all(rows.values())
    session.commit()
    with pytest.raises(SessionExpired, match="without use"):
        sessions.resolve_session(session=session, token=idle)
    with pytest.raises(SessionExpired, match="after login"):
        sessions.resolve_session(session=session, token=old)


def test_disable_and_password_change_end_sessions_and_role_change_applies(session):
    _add(session, "olga")
    actor = Actor("olga", Role.FIELD_TESTER)
    t1 = sessions.create_session(session=session, actor=actor)
    session.commit()
    u = session.exec(select(User).where(User.username == "olga")).one()
    u.role = Role.LAB_TECHNICIAN.value
    session.add(u)
    session.commit()
    assert sessions.resolve_session(session=session, token=t1).role is Role.LAB_TECHNICIAN
    users.set_password(session=session, actor=ADMIN, username="olga", password="Fresh-pass-31")
    session.commit()
    with pytest.raises(SessionExpired):
        sessions.resolve_session(session=session, token=t1)
    t2 = sessions.create_session(session=session, actor=actor)
    users.disable_user(session=session, actor=ADMIN, username="olga", reason="audit finding")
    session.commit()
    with pytest.raises(SessionExpired):
        sessions.resolve_session(session=session, token=t2)


def test_actor_for_keeps_its_signature(session):
    _add(session, "pat", Role.MANAGER)
    assert users.actor_for(session=session, username="pat") == Actor("pat", Role.MANAGER)
    assert users.actor_for(session=session, username="pat", password=PW).role is Role.MANAGER
    with pytest.raises(AuthenticationFailed):
        users.actor_for(session=session, username="pat", password="bad")
    with pytest.raises(NotFound):
        users.actor_for(session=session, username="nobody")


@pytest.mark.parametrize("text, where", [
    ("source='x'\n[login]\nmax_failed=0\nlockout_minutes=1\n", "[login] max_failed"),
    ("source='x'\n[login]\nmax_failed=3\n", "[login] lockout_minutes is missing"),
    ("[login\n", "security.toml"),
])
def test_policy_file_errors_name_section_and_key(text, where):
    with pytest.raises(ValueError, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(text)


def test_shipped_policy_has_a_source():
    p = load_policy()
    assert p.source and p.edition and p.max_failed >= 3 and p.password_min_length >= 10


def test_use_keeps_a_session_alive(session):
    policy = load_policy()
    _add(session, "quin")
    token = sessions.create_session(session=session, actor=Actor("quin", Role.FIELD_TESTER))
    row = session.exec(select(AppSession)).one()
    row.last_seen_at = now() - policy.session_idle * 0.9  # almost idle too long
    session.add(row)
    session.commit()
    sessions.resolve_session(session=session, token=token)  # used: the idle clock restarts
    session.commit()
    session.expire_all()
    assert now() - session.exec(select(AppSession)).one().last_seen_at < timedelta(minutes=1)
