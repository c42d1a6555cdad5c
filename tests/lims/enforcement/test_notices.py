"""Alert notices to grid officers over real transports: a local SMTP server (aiosmtpd) and a
local HTTP server for the webhook; failures are kept and retried with back-off."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from lims.enforcement.notices import Channels, backoff, send_due
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import Alert, GridGroup, Market, Notice, Vendor
from lims.security.auth import SYSTEM
from tests.conftest import TZ
from tests.lims.api.conftest import free_port

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
    ctl.start()
    yield ctl, inbox
    ctl.stop()


class Hook:
    """A local webhook receiver; answers each POST with the next status in ``statuses``."""

    def __init__(self, statuses: list[int]):
        self.statuses, self.bodies = list(statuses), []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def world(engine) -> None:
    with Session(engine) as s:
        g = GridGroup(name="城东网格", county="城关区", officer="李四", phone="13800000000",
                      email="grid-east@example.gov.cn")
        s.add(g)
        s.flush()
        m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers",
                   grid_group_id=g.id)
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall="A01", name="张记"))
        s.commit()


def positive_confirmed(s: Session, at: datetime, commodity: str = "小白菜") -> str:
    """A positive screen at stall A01 and its re-tests until the alert is raised (GB/T 5009.199
    re-tests a positive before it is final); returns the sample code."""
    code = None
    for i in range(4):
        r = ReadingIn(method="ENZ-5009.199", tested_at=at + timedelta(minutes=i), market="M1",
                      vendor_stall="A01", commodity=commodity, sample_code=code,
                      raw={"control_delta": 0.5, "sample_delta": 0.05})
        code = accept_readings(session=s, actor=SYSTEM, readings=[r]).stored[0].sample_code
        s.commit()
        if s.exec(select(Alert)).first() is not None:
            return code
    raise AssertionError("three confirming re-tests raised no alert")


def test_an_alert_is_mailed_and_posted_to_the_grid_officer(engine, smtp, monkeypatch):
    ctl, inbox = smtp
    hook = Hook([500, 200])
    monkeypatch.setenv("LIMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LIMS_SMTP_PORT", str(ctl.port))
    monkeypatch.setenv("LIMS_NOTICE_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("LIMS_CLOCK", "2026-05-06T09:50:00+08:00")
    world(engine)
    with Session(engine) as s:
        negative = ReadingIn(method="ENZ-5009.199", tested_at=T0, market="M1",
                             vendor_stall="A01", commodity="小白菜",
                             raw={"control_delta": 0.5, "sample_delta": 0.45})
        accept_readings(session=s, actor=SYSTEM, readings=[negative])
        s.commit()
        assert s.exec(select(Notice)).all() == []        # no alert, no notice
        code = positive_confirmed(s, T0 + timedelta(minutes=5))
        notices = s.exec(select(Notice).order_by(Notice.channel)).all()
        assert [(n.channel, n.status) for n in notices] == [("email", "pending"),
                                                            ("webhook", "pending")]

        at = datetime(2026, 5, 6, 9, 51, tzinfo=TZ)
        first = send_due(session=s, at=at)
        assert (first.sent, first.retrying) == (1, 1)
        [(rcpt, mail)] = inbox.messages
        assert rcpt == ["grid-east@example.gov.cn"]
        subject = str(make_header(decode_header(mail["Subject"])))
        assert "城东农贸市场 A01" in subject and "阳性" in subject
        assert code in mail.get_payload(decode=True).decode("utf-8")
        webhook = s.exec(select(Notice).where(Notice.channel == "webhook")).one()
        assert webhook.status == "pending" and webhook.attempts == 1
        assert "500" in webhook.last_error and hook.url in webhook.last_error
        assert webhook.next_attempt_at == at + backoff(1)

        assert send_due(session=s, at=at + timedelta(seconds=10)).sent == 0   # not due yet
        second = send_due(session=s, at=at + backoff(1))
        assert second.sent == 1
        body = hook.bodies[-1]
        assert (body["market"], body["vendor_stall"], body["sample_code"]) == ("M1", "A01", code)
        assert (body["officer"], body["phone"], body["level"]) == ("李四", "13800000000",
                                                                   "positive")
        assert len(inbox.messages) == 1                  # the mail was not sent twice
    hook.close()


def test_an_unreachable_server_is_retried_then_marked_failed(engine, monkeypatch):
    monkeypatch.setenv("LIMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LIMS_SMTP_PORT", str(free_port()))   # nobody listens there
    monkeypatch.setenv("LIMS_NOTICE_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("LIMS_CLOCK", "2026-05-06T09:50:00+08:00")
    world(engine)
    with Session(engine) as s:
        positive_confirmed(s, T0, "菠菜")
        at = datetime(2026, 5, 6, 9, 51, tzinfo=TZ)
        for _ in range(3):
            rep = send_due(session=s, at=at)
            at += timedelta(hours=1)
        n = s.exec(select(Notice)).one()
        assert (n.status, n.attempts, rep.failed) == ("failed", 3, 1)
        assert f"127.0.0.1:{Channels.from_settings().smtp_port}" in n.last_error


def test_backoff_doubles_and_is_capped():
    assert [backoff(i).total_seconds() for i in (1, 2, 3, 7, 20)] == [30, 60, 120, 1800, 1800]


def test_a_notice_for_a_result_voided_meanwhile_is_cancelled_not_sent(engine, smtp, monkeypatch):
    """A station pushes a positive and then its void (lims.sync): the officer is not sent out."""
    from lims.intake.corrections import void_result

    ctl, inbox = smtp
    monkeypatch.setenv("LIMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LIMS_SMTP_PORT", str(ctl.port))
    monkeypatch.setenv("LIMS_CLOCK", "2026-05-06T09:50:00+08:00")
    world(engine)
    with Session(engine) as s:
        positive_confirmed(s, T0, "菠菜")
        alert = s.exec(select(Alert)).one()
        void_result(session=s, actor=SYSTEM, result_id=alert.result_id,
                    reason="wrong sample: pushed by the station before its void")
        s.commit()
        rep = send_due(session=s, at=datetime(2026, 5, 6, 9, 51, tzinfo=TZ))
        n = s.exec(select(Notice)).one()
        assert (rep.sent, rep.cancelled, n.status) == (0, 1, "cancelled")
        assert str(alert.result_id) in n.last_error and inbox.messages == []
