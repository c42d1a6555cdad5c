"""Files that go up with a station's changes: patrol photos and case evidence (attachments).

A file lives on the station under ``LIMS_VAR_DIR/attachments/`` by its SHA-256
(``lims.files.attachments``). Before a batch of changes goes up, the station asks the server
which of the files those changes name it lacks (``POST /api/v1/attachments/missing``) and sends
only those (``PUT /api/v1/attachments/{sha256}``, the raw bytes), so a push interrupted half-way
sends again only what did not arrive, and a second push sends nothing. The server checks the
bytes against the hash in the path and the content's first bytes against its type, stores it
content-addressed, and links it to its record when the change that names it is applied
(``lims.sync.apply``), through ``lims.files.attachments.attach`` as the station did.

Owners: a patrol's photos go with ``patrol.record``; ``attachment.add`` names a case by its
result's ingest key, a sample by its code and a calibration record by (instrument serial, kind,
performed_at), the key ``lims.sync.calibrations`` stores it once by: never by station ids.
The server finds the sample or record here (``owner_here``); one it does not know (yet) refuses
the change with the reason, and the station parks it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from lims.errors import (
    InvalidInput,
    LimsError,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationFailed,
)
from lims.files import attachments
from lims.models import Attachment, CalibrationRecord, Instrument, ResultOwner, Sample, TestResult
from lims.sync.calibrations import calibration_time
from lims.sync.http import Unreachable

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_ASK = 1000   # hashes per "which do you lack" request


def names(item: dict[str, Any]) -> list[dict[str, str]]:
    """The files a change item names: ``[{"sha256", "name", "mime"}]``."""
    data = item.get("data") or {}
    if item.get("action") == "patrol.record":
        return [p for p in data.get("photos") or [] if isinstance(p, dict)]
    if item.get("action") == "attachment.add" and data.get("sha256"):
        return [data]
    return []


# -- the server -------------------------------------------------------------------------------

def lacking(hashes: list[str], var_dir: Path | None = None) -> list[str]:
    """The hashes of ``hashes`` whose content is not stored here (or no longer matches)."""
    bad = [h for h in hashes if not SHA256.match(h)]
    if bad:
        raise InvalidInput(f"sha256: {bad[0]!r} is not a SHA-256 (64 lowercase hex digits)")
    out = []
    for h in dict.fromkeys(hashes):
        try:
            attachments.load(h, var_dir)
        except NotFound:
            out.append(h)
    return out


def receive(data: bytes, sha256: str, media_type: str, var_dir: Path | None = None) -> str:
    """Store an uploaded file: ``"stored"``, or ``"present"`` when this content is here already.
    InvalidInput when the bytes do not hash to ``sha256``; ValidationFailed when the content is
    empty, too large or not of ``media_type`` (judged by its first bytes)."""
    if not SHA256.match(sha256):
        raise InvalidInput(f"sha256: {sha256!r} is not a SHA-256 (64 lowercase hex digits)")
    if media_type not in attachments.ALL_TYPES:
        raise ValidationFailed([RowError(sha256, "content-type", f"{media_type or 'no type'}: "
                                         "send image/png, image/jpeg or application/pdf")],
                               "attachment")
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise InvalidInput(f"sha256: the body's SHA-256 is {digest}, not {sha256} as the path "
                           "says (the file was damaged on the way or is not the one named); "
                           "nothing stored")
    attachments.check(data, sha256, types=(media_type,), field="content-type")
    if not lacking([sha256], var_dir):
        return "present"
    attachments.store(data, var_dir)
    return "stored"


def owner_here(session: Session, station: str, data: dict[str, Any]) -> tuple[str, int]:
    """(kind, id here) of the sample or calibration record an ``attachment.add`` names.
    NotFound/InvalidInput/PermissionDenied with ``field: message`` when it cannot be found or is
    not the station's (a sample: one of its results was uploaded by this station)."""
    kind = data.get("owner")
    if kind == "sample":
        code = data.get("sample_code")
        if not isinstance(code, str) or not code:
            raise InvalidInput("sample_code: a sample's file names its sample code")
        sample_id = session.exec(select(Sample.id).where(Sample.code == code)).first()
        if sample_id is None:
            raise NotFound(f"sample_code: no sample {code} here (its results have not arrived "
                           "or were refused); retry once they are here")
        owners = set(session.exec(select(ResultOwner.station).join(
            TestResult, TestResult.ingest_key == ResultOwner.ingest_key)
            .where(TestResult.sample_id == sample_id)))
        if station not in owners:
            raise PermissionDenied(f"sample_code: sample {code} has no result uploaded by "
                                   f"station {station}; a station may attach files only to "
                                   "its own samples")
        return kind, sample_id
    if kind != "calibration":
        raise InvalidInput(f"owner: {kind!r} is not case, sample or calibration")
    ref = data.get("calibration")
    if not isinstance(ref, dict) or not all(isinstance(ref.get(k), str) and ref.get(k)
                                            for k in ("instrument", "kind", "performed_at")):
        raise InvalidInput("calibration: name the record by instrument, kind and performed_at")
    try:
        at = calibration_time(ref)
    except ValueError:
        raise InvalidInput(f"calibration: performed_at {ref['performed_at']!r} is not an ISO "
                           "time") from None
    rec_id = session.exec(select(CalibrationRecord.id).join(
        Instrument, Instrument.id == CalibrationRecord.instrument_id).where(
        Instrument.serial_no == ref["instrument"], CalibrationRecord.kind == ref["kind"],
        CalibrationRecord.performed_at == at)).first()
    if rec_id is None:
        raise NotFound(f"calibration: no {ref['kind']} record of instrument {ref['instrument']} "
                       f"performed at {ref['performed_at']} here (the server refused it or has "
                       "not received it yet: see the push's calibration messages)")
    return kind, rec_id


def mark_certificate(session: Session, record_id: int, att: Attachment) -> None:
    """The file is the record's certificate on the station: point the record here at it too
    (unless it has one already)."""
    rec = session.get(CalibrationRecord, record_id)
    if rec is not None and not rec.certificate_sha256:
        rec.certificate_file = attachments.relative_path(att.sha256)
        rec.certificate_sha256, rec.certificate_type = att.sha256, att.media_type
        session.add(rec)
        session.flush()


# -- the station ------------------------------------------------------------------------------

def upload(central, items: list[dict[str, Any]], report: dict[str, int]) -> None:
    """Send the files ``items`` name that the server lacks (before the items themselves). A file
    missing on this station, or one the server refuses (e.g. over its size limit), is not sent:
    the server then refuses its change, which parks with the reason."""
    wanted: dict[str, str] = {}
    for item in items:
        for f in names(item):
            wanted.setdefault(f["sha256"], f.get("mime") or "")
    hashes = list(wanted)
    for i in range(0, len(hashes), MAX_ASK):
        missing = central.call("POST", "/attachments/missing",
                               {"sha256": hashes[i:i + MAX_ASK]}).get("missing") or []
        report["present"] += len(hashes[i:i + MAX_ASK]) - len(missing)
        for h in missing:
            try:
                data = attachments.load(h)
            except NotFound:
                report["missing_here"] += 1
                continue
            mime = wanted[h] or attachments.sniff(data) or "application/octet-stream"
            try:
                central.send("PUT", f"/attachments/{h}", data, mime)
            except (Unreachable, PermissionDenied):
                raise
            except LimsError:   # refused (too large there …): its change is refused and parks
                report["refused"] += 1
                continue
            report["uploaded"] += 1
            report["bytes"] += len(data)
