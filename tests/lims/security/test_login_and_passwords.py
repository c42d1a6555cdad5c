"""Issue 18 (low): a failed login never reveals whether the user exists (service and app), and
new passwords are checked against a shipped list of common passwords and the username."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from lims.errors import AuthenticationFailed, ConfigError
from lims.models import User
from lims.models.enums import Role
from lims.security import users
from lims.security.auth import SYSTEM, Actor
from lims.security.policy import POLICY_FILE, common_passwords, load_policy, parse_policy
from lims.timeutil import now
from tests.conftest import PINNED_CLOCK, _ready_engine

PW = "Correct-horse-9"
ADMIN = Actor("boss", Role.ADMIN)


def _setup_accounts(s: Session) -> None:
    for name in ("alive", "gone", "locked", "nopw"):
        users.add_user(session=s, actor=SYSTEM, username=name, role="field_tester", password=PW)
    users.disable_user(session=s, actor=ADMIN, username="gone", reason="left")
    for u in s.exec(select(User)):
        if u.username == "locked":
            u.locked_until = now() + timedelta(minutes=10)
        if u.username == "nopw":
            u.password_hash = None
        s.add(u)
    s.commit()


def _refusal(engine, username: str, password: str) -> AuthenticationFailed:
    with Session(engine) as s, pytest.raises(AuthenticationFailed) as exc:
        users.authenticate(session=s, username=username, password=password)
    return exc.value


def test_every_failed_login_has_the_same_answer(engine):
    with Session(engine) as s:
        _setup_accounts(s)
    attempts = [("nobody", PW), ("alive", "Wrong-pass-1"), ("alive", ""), ("gone", PW),
                ("locked", PW), ("nopw", PW), ("nobody", "")]
    answers = {(type(e).__name__, str(e)) for e in (_refusal(engine, u, p) for u, p in attempts)}
    assert answers == {("AuthenticationFailed", users.login_failed_message(load_policy()))}
    for word in ("nobody", "alive", "attempt", "until", "unknown"):
        assert word not in users.login_failed_message(load_policy())
    with Session(engine) as s:   # the right password still works
        assert users.authenticate(session=s, username="alive", password=PW).username == "alive"


def test_the_lock_out_still_counts_and_locks(engine):
    policy = load_policy()
    with Session(engine) as s:
        _setup_accounts(s)
    for _ in range(policy.max_failed):
        _refusal(engine, "alive", "Wrong-pass-1")
    with Session(engine) as s:
        u = s.exec(select(User).where(User.username == "alive")).one()
        assert u.locked_until is not None and u.locked_until > now()
    assert str(_refusal(engine, "alive", PW)) == users.login_failed_message(policy)


@pytest.mark.parametrize("password, word", [
    ("Password123", "password"), ("password1234", "password"), ("P@ssw0rd2024!", "password"),
    ("2024-Password!", "password"), ("Qwerty123456", "qwerty"), ("Iloveyou-2026", "iloveyou"),
    ("Sunshine!!99", "sunshine"), ("1q2w3e4r5t", "1q2w3e4r5t"), ("Football#1987", "football"),
])
def test_common_passwords_are_refused(session, password, word):
    with pytest.raises(users.WeakPassword, match="too common") as exc:
        users.add_user(session=session, actor=SYSTEM, username="carol", role="manager",
                       password=password)
    if word:
        assert repr(word) in str(exc.value)
    assert str(exc.value).startswith("password:")


@pytest.mark.parametrize("password", [PW, "Kuaijian-lab-7x", "vegetable market 2026", "Zq8!mRt2pLw"])
def test_uncommon_passwords_are_accepted(session, password):
    users.add_user(session=session, actor=SYSTEM, username="carol", role="manager",
                   password=password)


def test_password_change_is_checked_too(session):
    users.add_user(session=session, actor=SYSTEM, username="dora", role="manager", password=PW)
    with pytest.raises(users.WeakPassword, match="too common"):
        users.set_password(session=session, actor=ADMIN, username="dora", password="Password123")
    with pytest.raises(users.WeakPassword, match="must not contain the username"):
        users.set_password(session=session, actor=ADMIN, username="dora",
                           password="Zq8-DORA-pLw")


def test_the_shipped_list_has_its_source_and_ten_thousand_entries():
    policy = load_policy()
    assert policy.common_passwords == POLICY_FILE.parent / "common_passwords.txt"
    head = policy.common_passwords.read_text(encoding="utf-8").splitlines()[:8]
    assert any("SecLists" in line and "10k-most-common" in line for line in head)
    words = common_passwords(policy.common_passwords)
    assert len(words) == 10_000 and "password" in words and not any(w.startswith("#")
                                                                    for w in words)


def test_a_policy_naming_a_missing_list_is_refused(tmp_path: Path):
    text = POLICY_FILE.read_text(encoding="utf-8").replace('"common_passwords.txt"',
                                                          '"missing.txt"')
    with pytest.raises(ConfigError, match=r"\[password\] common_list"):
        parse_policy(text, base=tmp_path)


# ---- the app's login box gives the same answer ----------------------------------------------


def _identity_box():
    from dashboards import identity

    identity.sidebar()


def test_app_login_answers_the_same_for_unknown_user_and_wrong_password(tmp_path, monkeypatch):
    from lims.storage.engine import engine_for

    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    eng = _ready_engine(url)
    with Session(eng) as s:
        _setup_accounts(s)
    eng.dispose()
    monkeypatch.setenv("LIMS_DATABASE_URL", url)
    monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LIMS_CLOCK", PINNED_CLOCK)
    engine_for.cache_clear()

    def attempt(lang: str, username: str, password: str) -> list[str]:
        monkeypatch.setenv("LIMS_LANG", lang)
        at = AppTest.from_function(_identity_box, default_timeout=60)
        at.run()
        at.text_input(key="login_user").input(username)
        at.text_input(key="login_pw").input(password)
        next(iter(at.get("form_submit_button"))).click().run()
        assert not at.exception
        assert at.session_state["actor"] is None
        return [e.value for e in at.error]

    try:
        for lang in ("zh", "en"):
            answers = [attempt(lang, u, p) for u, p in [("nobody", PW), ("alive", "Wrong-pass-1"),
                                                         ("gone", PW), ("locked", PW)]]
            assert all(a == answers[0] for a in answers) and len(answers[0]) == 1
            assert "nobody" not in answers[0][0] and "alive" not in answers[0][0]
    finally:
        engine_for.cache_clear()
