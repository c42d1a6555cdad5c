"""Signed slips (issue 19): the QR code carries an Ed25519 signature over code, verdict, time and
URL base; a slip made is valid, an altered one forged, an unsigned one unsigned; key on first use
(mode 0600), LIMS_SLIP_KEY_FILE, rotation by kid; `lims slip verify|public-key|rotate-key`."""

from __future__ import annotations

import io
import json
import stat
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from lims.errors import ConfigError
from lims.field import signing, slips
from lims.field.stand import record_field_test
from tests.lims.cli.conftest import lims, places  # noqa: F401  (fixtures for the CLI tests)
from tests.lims.conftest import T0, TESTER

BASE = "https://lims.example.cn"


@pytest.fixture
def var_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("LIMS_SLIP_KEY_FILE", raising=False)
    return tmp_path / "var"


def _positive(session) -> str:
    out = record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A01",
                            commodity="芹菜", card_colour="unchanged", tested_at=T0, base_url=BASE)
    session.commit()
    return out.sample_code


def _qr(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q.update(changes)
    return parts._replace(query=urlencode(q)).geturl()


def test_slip_made_and_verified(session, world, var_dir):
    code = _positive(session)
    (url,) = _qr(slips.slip_png(session=session, code=code, base_url=BASE))
    assert url.startswith(f"{BASE}/public?code={code}&v=positive&t=20260506T0130Z&kid=")
    assert "&sig=" in url and len(url) < 200
    check = signing.verify_url(url)
    assert (check.status, check.code, check.verdict, check.exit_code) == ("valid", code,
                                                                          "positive", 0)
    assert check.tested_at == T0 and check.base_url == BASE
    key = var_dir / "keys" / "slip_ed25519.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) & 0o077 == 0
    # the same key signs the next slip (made once, on first use)
    assert signing.signing_key().kid == check.kid
    _, verdict, line_url = slips.slip_lines(session=session, code=code, base_url=BASE)
    assert verdict == "positive" and signing.verify_url(line_url).status == "valid"


def test_altered_slip_is_forged(session, world, var_dir):
    code = _positive(session)
    url = slips.slip_lines(session=session, code=code, base_url=BASE)[2]
    for changes in ({"v": "negative"}, {"t": "20260506T0230Z"}, {"code": "ZZZZ9999"}):
        check = signing.verify_url(_with(url, **changes))
        assert check.status == "forged" and check.exit_code == 1, changes
    assert "forged or altered" in signing.verify_url(_with(url, v="negative")).reason
    # another host (a look-alike site) with the same parameters
    assert signing.verify_url(url.replace(BASE, "https://lims-example.cn")).status == "forged"
    assert signing.verify_url(_with(url, sig="AAAA")).status == "forged"
    assert signing.verify_url(_with(url, sig="not base64!")).status == "forged"
    assert signing.verify_url(url + "&v=negative").status == "forged"   # two verdicts
    assert signing.verify_url(_with(url, kid="zzzzzzzz")).reason.startswith("signed with an "
                                                                              "unknown key")
    unsigned = signing.verify_url(f"{BASE}/public?code={code}")
    assert (unsigned.status, unsigned.exit_code, unsigned.code) == ("unsigned", 2, code)
    assert signing.verify_url("hello").status == "unsigned"


def test_record_changed_after_the_slip(session, world, var_dir):
    code = _positive(session)
    url = slips.slip_lines(session=session, code=code, base_url=BASE)[2]
    check = signing.verify_url(url)
    same = signing.compare_with_record(check, verdict="positive", tested_at=T0)
    assert same.status == "valid" and same.mismatches == ()
    voided = signing.compare_with_record(check, verdict="voided", tested_at=T0)
    assert voided.status == "valid" and voided.mismatches == ("verdict",)


def test_key_rotation_keeps_old_slips_valid(session, world, var_dir):
    code = _positive(session)
    old_url = slips.slip_lines(session=session, code=code, base_url=BASE)[2]
    old_kid, new_kid = signing.rotate_key()
    assert old_kid == signing.verify_url(old_url).kid and new_kid != old_kid
    assert (var_dir / "keys" / f"slip_ed25519.{old_kid}.pub.pem").exists()
    new_url = slips.slip_lines(session=session, code=code, base_url=BASE)[2]
    assert f"kid={new_kid}" in new_url
    assert signing.verify_url(old_url).status == signing.verify_url(new_url).status == "valid"
    only_new = {new_kid: signing.signing_key().public_key}
    assert signing.verify_url(old_url, only_new).status == "forged"
    assert set(signing.trusted_keys()) == {old_kid, new_kid}


def test_key_file_setting(tmp_path, monkeypatch, var_dir):
    path = tmp_path / "secret" / "slip.pem"
    monkeypatch.setenv("LIMS_SLIP_KEY_FILE", str(path))
    with pytest.raises(ConfigError, match="LIMS_SLIP_KEY_FILE: no such file"):
        signing.signing_key()
    assert signing.trusted_keys() == {}          # verifying never makes a key
    path.parent.mkdir()
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        signing.signing_key()
    path.chmod(0o600)
    assert signing.signing_key().kid == signing.kid_of(key.public_key())
    assert not (var_dir / "keys" / "slip_ed25519.pem").exists()
    with pytest.raises(ConfigError, match="LIMS_SLIP_KEY_FILE is set"):
        signing.rotate_key()


def _field_positive(run) -> str:
    r = run("field-test", "--market", "T-F01", "--stall", "A01", "--commodity", "韭菜",
             "--card", "unchanged", "--at", "2026-05-06 09:30", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["sample_code"]


def test_cli_verify_public_key_and_rotation(places, tmp_path):  # noqa: F811
    run = places
    code = _field_positive(run)
    png = tmp_path / "slip.png"
    assert run("slip", "--code", code, "--out", png, "--base-url", BASE).exit_code == 0
    r = run("slip", "verify", png)
    assert r.exit_code == 0 and r.output.startswith(f"valid: {code} positive 2026-05-06 09:30")
    (url,) = _qr(png.read_bytes())

    forged = tmp_path / "forged.png"
    slips.qr_image(_with(url, v="negative")).save(forged)
    r = run("slip", "verify", forged)
    assert r.exit_code == 1 and r.output.startswith(f"forged: {code} negative"), r.output
    r = run("slip", "verify", "--url", _with(url, v="negative"), "--json")
    assert r.exit_code == 1 and json.loads(r.output)[0]["status"] == "forged"
    r = run("slip", "verify", "--url", f"{BASE}/public?code={code}")
    assert r.exit_code == 2 and r.output.startswith("unsigned")
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    r = run("slip", "verify", blank)
    assert r.exit_code == 3 and "no QR code" in r.output
    assert run("slip", "verify").exit_code == 2

    # an inspector's phone: only the printed public key, no var dir
    r = run("slip", "public-key")
    assert r.exit_code == 0 and "(current)" in r.output and "BEGIN PUBLIC KEY" in r.output
    pem = tmp_path / "inspector.pem"
    pem.write_text(r.output)
    assert run("slip", "verify", png, "--public-key", pem).exit_code == 0

    r = run("slip", "rotate-key")
    assert r.exit_code == 0 and "retired" in r.output
    assert run("slip", "verify", png).exit_code == 0                    # old slip still valid
    assert run("slip", "verify", png, "--public-key", pem).exit_code == 0
    r = run("slip", "public-key", "--all", "--json")
    assert [k["current"] for k in json.loads(r.output)] == [True, False]
    new_pem = tmp_path / "new.pem"
    new_pem.write_text(json.loads(r.output)[0]["pem"])
    r = run("slip", "verify", png, "--public-key", new_pem)
    assert r.exit_code == 1 and "unknown key" in r.output
    assert run("slip", "nonsense").exit_code == 2
