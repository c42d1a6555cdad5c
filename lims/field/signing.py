"""Signed result slips: an Ed25519 signature in the slip's QR code, checkable offline.

The QR code of a slip is the public page's URL with the signed claim as query parameters::

    https://lims.example.cn/public?code=K7Q2M9XD&v=positive&t=20260506T0130Z&kid=…&sig=…

``v`` is the verdict key, ``t`` the test time in UTC to the minute, ``kid`` names the key
(base64url of the first 6 bytes of the SHA-256 of the raw public key) and ``sig`` is the
base64url Ed25519 signature (no padding) of ``claim_message``: the format tag, the public URL
base, the code, the verdict and the time, one per line. Changing any of them, or pointing the
URL at another host, breaks the signature.

The private key is ``LIMS_SLIP_KEY_FILE`` or ``LIMS_VAR_DIR/keys/slip_ed25519.pem`` (PKCS#8
PEM, mode 0600), generated there on first use. A key that others may read is refused.
``rotate_key`` retires the current key: its public half stays in ``keys/`` as
``slip_ed25519.<kid>.pub.pem`` so old slips still verify; every ``*.pub.pem`` there is trusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from lims.errors import ConfigError, InvalidInput
from lims.settings import Settings, load_settings

FORMAT = "kuaijian-slip/1"
KEY_NAME = "slip_ed25519.pem"
PUBLIC_PAGE_PATH = "/public"   # as lims.field.stand.PUBLIC_PAGE_PATH
TIME_FORMAT = "%Y%m%dT%H%MZ"
SIGNED_PARAMS = ("code", "v", "t", "kid", "sig")

PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)

VALID, FORGED, UNSIGNED = "valid", "forged", "unsigned"


# --------------------------------------------------------------------------- encoding

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                       for c in text):
        raise InvalidInput("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def format_time(value: datetime) -> str:
    """The signed time: UTC to the minute, ``20260506T0130Z`` (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def _base(base_url: str) -> str:
    base = base_url.strip().rstrip("/")
    if base.endswith(PUBLIC_PAGE_PATH):
        base = base[: -len(PUBLIC_PAGE_PATH)]
    return base


def claim_message(*, base_url: str, code: str, verdict: str, time_text: str) -> bytes:
    """The bytes that are signed: format tag, URL base, code, verdict and time, one per line."""
    parts = (FORMAT, _base(base_url), code.strip().upper(), verdict, time_text)
    if any("\n" in p for p in parts):
        raise InvalidInput("slip claim: a field contains a line break")
    return "\n".join(parts).encode("utf-8")


# --------------------------------------------------------------------------- keys

def kid_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url(hashlib.sha256(raw).digest()[:6])


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class SlipKey:
    private_key: Ed25519PrivateKey
    path: Path

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        return kid_of(self.public_key)


def key_path(settings: Settings | None = None) -> Path:
    settings = settings or load_settings()
    return settings.slip_key_file or settings.keys_dir / KEY_NAME


def _read_private(path: Path) -> Ed25519PrivateKey:
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ConfigError(f"slip key {path}: readable by other users (mode "
                          f"{path.stat().st_mode & 0o777:o}); run chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"slip key {path}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"slip key {path}: not an Ed25519 key")
    return key


def _write_new_key(path: Path) -> None:
    """Write a fresh key at ``path`` (mode 0600) unless one appears there meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)   # atomic; fails if another process won the race
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def signing_key(settings: Settings | None = None) -> SlipKey:
    """The slip-signing key; generated on first use unless LIMS_SLIP_KEY_FILE names one."""
    settings = settings or load_settings()
    path = key_path(settings)
    if not path.exists():
        if settings.slip_key_file is not None:
            raise ConfigError(f"LIMS_SLIP_KEY_FILE: no such file: {path}")
        _write_new_key(path)
    return SlipKey(_read_private(path), path)


def _retired_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    out: dict[str, Ed25519PublicKey] = {}
    for p in sorted(settings.keys_dir.glob("*.pub.pem")) if settings.keys_dir.is_dir() else ():
        out.update(load_public_keys(p))
    return out


def load_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 public keys in a PEM file (one or several blocks, comments between), by kid."""
    text = path.read_text(encoding="ascii", errors="replace")
    out: dict[str, Ed25519PublicKey] = {}
    for block in PEM_BLOCK.findall(text):
        try:
            key = serialization.load_pem_public_key(block.encode())
        except ValueError as exc:
            raise ConfigError(f"{path}: not a PEM public key ({exc})") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"{path}: not an Ed25519 public key")
        out[kid_of(key)] = key
    if not out:
        raise ConfigError(f"{path}: no PEM public key in it")
    return out


def trusted_keys(settings: Settings | None = None) -> dict[str, Ed25519PublicKey]:
    """Public keys slips may be signed with, by kid: the current key and the retired ones.

    Never generates a key (a verifier without a key trusts nothing)."""
    settings = settings or load_settings()
    keys = _retired_keys(settings)
    if key_path(settings).exists():
        current = signing_key(settings)
        keys[current.kid] = current.public_key
    return keys


def rotate_key(settings: Settings | None = None) -> tuple[str | None, str]:
    """Retire the current key (its public key stays trusted) and make a new one: (old, new kid).

    Only for the generated key in LIMS_VAR_DIR/keys; a LIMS_SLIP_KEY_FILE is replaced by its
    owner (put the old public key into LIMS_VAR_DIR/keys/*.pub.pem to keep old slips valid)."""
    settings = settings or load_settings()
    if settings.slip_key_file is not None:
        raise ConfigError("LIMS_SLIP_KEY_FILE is set: replace that file yourself and keep the "
                          f"old public key as {settings.keys_dir}/slip_ed25519.<kid>.pub.pem")
    path = key_path(settings)
    old = None
    if path.exists():
        current = signing_key(settings)
        old = current.kid
        pub = settings.keys_dir / f"slip_ed25519.{old}.pub.pem"
        pub.write_text(public_pem(current.public_key))
        path.unlink()
    return old, signing_key(settings).kid


# --------------------------------------------------------------------------- sign and verify

def signed_url(*, code: str, verdict: str, tested_at: datetime, base_url: str | None = None,
               key: SlipKey | None = None) -> str:
    """The public page's URL for ``code`` with the signed claim (code, verdict, time, base)."""
    base = _base(base_url or load_settings().public_base_url)
    key = key or signing_key()
    code = code.strip().upper()
    t = format_time(tested_at)
    sig = key.private_key.sign(claim_message(base_url=base, code=code, verdict=verdict,
                                             time_text=t))
    query = urlencode({"code": code, "v": verdict, "t": t, "kid": key.kid, "sig": b64url(sig)})
    return f"{base}{PUBLIC_PAGE_PATH}?{query}"


@dataclass(frozen=True)
class SlipCheck:
    """What a slip URL says and whether its signature holds."""

    status: str                      # valid | forged | unsigned
    reason: str
    code: str | None = None
    verdict: str | None = None
    tested_at: datetime | None = None
    kid: str | None = None
    base_url: str | None = None
    mismatches: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        return {VALID: 0, FORGED: 1}.get(self.status, 2)


def check_params(params: dict[str, str | list[str]], *, base_urls: list[str],
                 keys: dict[str, Ed25519PublicKey]) -> SlipCheck:
    """Check the signed query parameters of a slip URL against ``keys``.

    ``base_urls``: the URL bases the page may have been reached at (the signature must hold for
    one of them). No ``sig``: unsigned. Anything else that does not verify: forged."""
    values: dict[str, str] = {}
    for name in SIGNED_PARAMS:
        v = params.get(name)
        if isinstance(v, list):
            if len(v) > 1:
                return SlipCheck(FORGED, f"the parameter {name!r} appears {len(v)} times")
            v = v[0] if v else None
        if v is not None:
            values[name] = v
    code = (values.get("code") or "").strip().upper() or None
    if "sig" not in values:
        return SlipCheck(UNSIGNED, "the slip carries no signature", code=code)
    verdict, t_text, kid = values.get("v"), values.get("t"), values.get("kid")
    if not (code and verdict and t_text and kid):
        missing = [n for n in ("code", "v", "t", "kid") if not values.get(n)]
        return SlipCheck(FORGED, f"signed slip without {', '.join(missing)}", code=code)
    try:
        tested_at = parse_time(t_text)
    except ValueError:
        return SlipCheck(FORGED, f"time {t_text!r} is not of the form 20260506T0130Z",
                         code=code, verdict=verdict, kid=kid)
    found = {"code": code, "verdict": verdict, "tested_at": tested_at, "kid": kid}
    public_key = keys.get(kid)
    if public_key is None:
        return SlipCheck(FORGED, f"signed with an unknown key (kid {kid}); if the key was "
                         "rotated, add its public key", **found)
    try:
        sig = unb64url(values["sig"])
    except (ValueError, binascii.Error):
        return SlipCheck(FORGED, "the signature is not base64url", **found)
    for base in dict.fromkeys(_base(b) for b in base_urls if b):
        try:
            public_key.verify(sig, claim_message(base_url=base, code=code, verdict=verdict,
                                                 time_text=t_text))
        except InvalidSignature:
            continue
        return SlipCheck(VALID, f"signature valid (key {kid})", base_url=base, **found)
    return SlipCheck(FORGED, "the signature does not match the code, verdict, time or address "
                     "on the slip: forged or altered", **found)


def verify_url(url: str, keys: dict[str, Ed25519PublicKey] | None = None) -> SlipCheck:
    """Check a slip's QR text (the public URL) offline with ``keys`` (default: trusted_keys())."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return SlipCheck(UNSIGNED, f"not a slip address: {url.strip()[:80]!r}")
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    params = parse_qs(parts.query, keep_blank_values=True)
    if keys is None:
        keys = trusted_keys()
    return check_params(params, base_urls=[base], keys=keys)


def compare_with_record(check: SlipCheck, *, verdict: str, tested_at: datetime) -> SlipCheck:
    """A valid slip whose claim differs from the stored result (corrected or voided since it was
    printed): the same check with ``mismatches`` ("verdict", "time") filled in."""
    if check.status != VALID:
        return check
    diffs = []
    if check.verdict != verdict:
        diffs.append("verdict")
    if check.tested_at is not None and format_time(check.tested_at) != format_time(tested_at):
        diffs.append("time")
    if not diffs:
        return check
    return SlipCheck(check.status, check.reason, check.code, check.verdict, check.tested_at,
                     check.kid, check.base_url, tuple(diffs))
