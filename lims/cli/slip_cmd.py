"""`lims slip`: write a result slip; `lims slip verify|public-key|rotate-key`: its signature.

One command with an optional action word (registered as ``lims slip`` in ``lims/cli``):

* ``lims slip --code CODE --out FILE.png|.pdf [--base-url URL]``: write the slip;
* ``lims slip verify FILE.png`` or ``lims slip verify --url URL``: exit 0 valid, 1 forged,
  2 unsigned, 3 nothing to check (no QR code found, no key);
* ``lims slip public-key [--all] [--json]``: the public key(s) inspectors verify with offline;
* ``lims slip rotate-key``: a new signing key; the old public key stays trusted.
"""

from __future__ import annotations

from pathlib import Path

import typer

from lims.cli.common import emit_json, fail, session
from lims.errors import LimsError
from lims.field import signing, slips
from lims.files.output import write_output
from lims.settings import load_settings

ACTIONS = ("verify", "public-key", "rotate-key")
NOTHING_TO_CHECK = 3


def slip(action: str | None = typer.Argument(
            None, metavar="[verify|public-key|rotate-key]",
            help="verify: check a slip's signature; public-key: print the public key(s); "
                 "rotate-key: make a new signing key. None: write a slip (--code, --out)."),
         file: Path | None = typer.Argument(None, help="verify: PNG/JPEG of the slip or its QR."),
         code: str | None = typer.Option(None, help="Sample short code."),
         out: Path | None = typer.Option(None, help="Output file: .png or .pdf."),
         base_url: str | None = typer.Option(None, help="Public base URL for the QR code "
                                                        "(default LIMS_PUBLIC_BASE_URL)."),
         url: str | None = typer.Option(None, "--url", help="verify: the QR code's text."),
         public_key: Path | None = typer.Option(
             None, "--public-key", help="verify: trust only the keys in this PEM file "
                                        "(from `lims slip public-key`)."),
         all_keys: bool = typer.Option(False, "--all", help="public-key: retired keys too."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Write a sample's result slip (bilingual, signed QR code to its public page), or verify one.

    Exit codes of verify: 0 valid, 1 forged or altered, 2 unsigned, 3 nothing to check."""
    try:
        if action is None:
            _write(code, out, base_url)
        elif action == "verify":
            _verify(file, url, public_key, as_json)
        elif action == "public-key":
            _public_key(all_keys, as_json)
        elif action == "rotate-key":
            old, new = signing.rotate_key()
            typer.echo(f"new slip key {new}" + (f"; {old} retired (its slips stay valid)"
                                                if old else ""))
        else:
            raise ValueError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}, "
                             "or --code and --out to write a slip")
    except (LimsError, ValueError) as exc:
        fail(str(exc))


def _write(code: str | None, out: Path | None, base_url: str | None) -> None:
    if not code or out is None:
        raise ValueError("give --code and --out to write a slip (or an action: "
                         f"{', '.join(ACTIONS)})")
    suffix = out.suffix.lower()
    if suffix not in (".png", ".pdf"):
        raise ValueError(f"--out: {out.name}: give a .png or .pdf file name")
    with session() as s:
        fn = slips.slip_png if suffix == ".png" else slips.slip_pdf
        data = fn(session=s, code=code, base_url=base_url, tz=load_settings().timezone)
    write_output(out, data)
    typer.echo(f"slip written: {out} ({len(data)} bytes)")


def qr_texts(path: Path) -> list[str]:
    """The texts of the QR codes in an image file (zxing-cpp)."""
    try:
        import zxingcpp
    except ImportError as exc:   # a main dependency; a broken install may still lack it
        raise ValueError("zxing-cpp is not installed (pip install zxing-cpp); "
                         "or give the QR text with --url") from exc
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"{path}: not an image ({exc})") from exc
    return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


def _verify(file: Path | None, url: str | None, public_key: Path | None, as_json: bool) -> None:
    if (file is None) == (url is None):
        raise ValueError("verify: give a slip image FILE or --url TEXT (one of them)")
    texts = [url] if url is not None else qr_texts(file)
    if not texts:
        fail(f"{file}: no QR code found", NOTHING_TO_CHECK)
    keys = signing.load_public_keys(public_key) if public_key else signing.trusted_keys()
    if not keys:
        fail("no slip key to verify with: give --public-key FILE (from `lims slip public-key`)",
             NOTHING_TO_CHECK)
    checks = [signing.verify_url(t, keys) for t in texts]
    if as_json:
        emit_json([{"text": t, "status": c.status, "reason": c.reason, "code": c.code,
                    "verdict": c.verdict, "tested_at": c.tested_at, "kid": c.kid,
                    "base_url": c.base_url} for t, c in zip(texts, checks, strict=True)])
    else:
        tz = load_settings().timezone
        for c in checks:
            when = c.tested_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if c.tested_at else "—"
            claim = f"{c.code or '—'} {c.verdict or '—'} {when}"
            typer.echo(f"{c.status}: {claim}  ({c.reason})")
    codes = {c.exit_code for c in checks}
    raise typer.Exit(1 if 1 in codes else max(codes))


def _public_key(all_keys: bool, as_json: bool) -> None:
    current = signing.signing_key()   # made on first use, like the first slip would
    keys = signing.trusted_keys() if all_keys else {current.kid: current.public_key}
    rows = [{"kid": kid, "current": kid == current.kid, "pem": signing.public_pem(k)}
            for kid, k in sorted(keys.items(), key=lambda kv: kv[0] != current.kid)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"# Kuaijian LIMS slip key {r['kid']}" + (" (current)" if r["current"] else
                                                              " (retired)"))
        typer.echo(r["pem"].rstrip())
