"""Files attached to samples, cases, patrols and calibration records (lims.files.attachments).

The bytes live on disk, content-addressed (``LIMS_VAR_DIR/attachments/<aa>/<sha256>``); a row
says whose file it is, what it was called when uploaded, its type and size, and who uploaded it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import ts_field


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"
    # the same content on the same owner is one attachment (an upload repeated by a double click
    # or a page re-run finds the row that is there); the owner index is this constraint's prefix
    __table_args__ = (sa.UniqueConstraint("owner_kind", "owner_id", "sha256",
                                          name="uq_attachment_owner_content"),)
    id: int | None = Field(default=None, primary_key=True)
    owner_kind: str = Field(max_length=20)    # sample, case, patrol, calibration
    owner_id: int
    sha256: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)         # the file name given at upload (display only)
    media_type: str = Field(max_length=50)    # judged by the content: image/png, image/jpeg …
    size: int
    uploaded_by: str = Field(max_length=60)
    uploaded_at: datetime = ts_field()
