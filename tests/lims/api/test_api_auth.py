"""Tokens on a real server: no token, a wrong or revoked one → 401 JSON; a token's role limits
what it may do; a station never reaches users or tokens; only admins manage tokens."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from lims.api.tokens import create_token, digest, list_tokens, revoke
from lims.errors import NotFound, PermissionDenied
from lims.models import ApiToken, AuditEvent
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from tests.lims.api.conftest import Api, positive, seed, token_for


@pytest.fixture
def base(sqlite_engine, serve) -> str:
    seed(sqlite_engine)
    return serve(sqlite_engine)


@pytest.mark.parametrize("path, method", [("/api/v1/reference", "GET"),
                                          ("/api/v1/board/M1", "GET"),
                                          ("/api/v1/results/KJ-X-0001", "GET"),
                                          ("/api/v1/readings", "POST")])
def test_every_endpoint_but_health_needs_a_token(base, sqlite_engine, path, method):
    good = token_for(sqlite_engine)
    body = {"readings": [positive()]} if method == "POST" else None
    for token, why in ((None, "missing token"),
                       ("lims_00000000_" + "x" * 43, "invalid token"),
                       ("not-a-token", "invalid token"),
                       (good[:-2] + "xx", "invalid token")):
        r = Api(base).call(method, path, body, token=token)
        assert r.status == 401, (token, r.body)
        assert why in r.json["error"] and "Traceback" not in r.body.decode()
        assert r.headers["www-authenticate"] == "Bearer"
    assert Api(base).get("/api/v1/health", token=None).json["status"] == "ok"


def test_a_revoked_token_gets_401(base, sqlite_engine):
    api = Api(base, token_for(sqlite_engine, "S1"))
    other = Api(base, token_for(sqlite_engine, "S2"))
    assert api.get("/api/v1/reference").status == 200
    with Session(sqlite_engine) as s:
        [info] = revoke(session=s, actor=SYSTEM, which="S1")
        s.commit()
    r = api.get("/api/v1/reference")
    assert r.status == 401 and f"token {info.token_id} was revoked" in r.json["error"]
    assert other.get("/api/v1/reference").status == 200   # another station's token still works
    with Session(sqlite_engine) as s:
        rows = {t.station: t for t in list_tokens(session=s, actor=SYSTEM)}
        with pytest.raises(NotFound, match="revoked already"):
            revoke(session=s, actor=SYSTEM, which=info.token_id)
    assert not rows["S1"].active and rows["S1"].last_used_at is not None
    assert rows["S2"].active and rows["S2"].revoked_at is None


def test_a_reader_token_may_read_but_not_upload(base, sqlite_engine):
    reader = Api(base, token_for(sqlite_engine, "screen-1", role="reader"))
    assert reader.get("/api/v1/reference").status == 200
    r = reader.post("/api/v1/readings", {"readings": [positive()]})
    assert r.status == 403 and "readings.write" in r.json["error"]


def test_a_station_reaches_no_users_and_no_tokens(base, sqlite_engine):
    station = Api(base, token_for(sqlite_engine))
    for path in ("/api/v1/users", "/api/v1/tokens", "/api/v1/admin", "/api/v1/audit"):
        r = station.get(path)
        assert r.status == 404 and "error" in r.json
    paths = station.get("/api/openapi.json").json["paths"]
    assert not [p for p in paths if any(w in p for w in ("user", "token", "audit"))]
    text = station.get("/api/v1/reference").body.decode()
    for private in ("password", "token", "staff", "licence", "李四"):
        assert private not in text


def test_tokens_are_stored_hashed_and_managed_by_admins_only(sqlite_engine):
    with Session(sqlite_engine) as s:
        token, info = create_token(session=s, actor=SYSTEM, station="S1")
        s.commit()
        row = s.exec(select(ApiToken)).one()
        assert row.token_hash == digest(token) and token not in row.token_hash
        assert token.startswith(f"lims_{info.token_id}_")
        for role in (Role.FIELD_TESTER, Role.LAB_TECHNICIAN, Role.MANAGER):
            who = Actor("someone", role)
            with pytest.raises(PermissionDenied, match="api.tokens"):
                create_token(session=s, actor=who, station="S2")
            with pytest.raises(PermissionDenied):
                list_tokens(session=s, actor=who)
            with pytest.raises(PermissionDenied):
                revoke(session=s, actor=who, which="S1")
        events = s.exec(select(AuditEvent).where(AuditEvent.entity == "api_token")).all()
        assert [e.action for e in events] == ["api.token.create"]
        assert token not in str(events[0].new) and digest(token) not in str(events[0].new)
