"""The public result page checks the slip's signature from its QR code (issue 19, signed slips):
"签名有效 signature valid" for a genuine slip, a clear warning for a forged or altered one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from lims.field import signing
from lims.field.stand import public_result
from lims.storage.engine import get_engine
from tests.dashboards.conftest import APP, no_exception


def _open(url: str) -> AppTest:
    """The public page as a phone opens it from the QR code: no login, the URL's parameters."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "zh"
    at.session_state["actor"] = None
    at.switch_page("views/public.py")
    at.query_params.update({k: v[0] for k, v in parse_qs(urlsplit(url).query).items()})
    at.run()
    no_exception(at)
    return at


def _notices(at: AppTest) -> dict[str, str]:
    return {kind: " ".join(e.value for e in at.get(kind)) for kind in ("success", "warning",
                                                                       "error")}


def test_public_page_checks_the_slip_signature(use_db, demo_code):
    use_db("demo")
    with Session(get_engine()) as s:
        r = public_result(session=s, code=demo_code)
    url = signing.signed_url(code=r.code, verdict=r.verdict, tested_at=r.tested_at)

    at = _open(url)
    seen = _notices(at)
    assert "签名有效 signature valid" in seen["success"] and not seen["error"]
    assert any(demo_code in t.value for t in at.title)

    forged = url.replace(f"v={r.verdict}", "v=negative")
    assert forged != url
    at = _open(forged)
    seen = _notices(at)
    assert "凭条是伪造的或被改过" in seen["error"] and "forged or altered" in seen["error"]
    assert "阴性 negative" in seen["error"] and not seen["success"]
    html = "".join(m.value for m in at.markdown)
    assert "阳性" in html                     # the record is shown, not the slip's claim

    # genuinely signed, but the record changed since (a correction): warned, not called forged
    older = signing.signed_url(code=r.code, verdict="suspicious", tested_at=r.tested_at)
    seen = _notices(_open(older))
    assert "已更正或作废" in seen["warning"] and "可疑 suspicious" in seen["warning"]
    assert not seen["error"] and not seen["success"]

    stripped = url.split("&sig=")[0]
    assert "缺少签名" in _notices(_open(stripped))["error"]

    plain = _open(url.split("&")[0])         # an older, unsigned slip: no notice at all
    assert not any(_notices(plain).values())
