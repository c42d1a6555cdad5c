"""Tokens of the HTTP API (``lims api token …``): one per station or device.

Only the SHA-256 of a token is stored; ``token_id`` is the token's public prefix, used to find
its row and to name it in ``lims api token list/revoke``. Tokens are revoked, never deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from lims.models._types import ts_field


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_id: str = Field(unique=True, max_length=16)      # public prefix of the token
    token_hash: str = Field(max_length=64)                 # sha256 of the whole token
    station: str = Field(index=True, max_length=40)
    role: str = Field(max_length=20)                       # lims.api.tokens.API_ROLES
    created_at: datetime = ts_field(default_now=True)
    created_by: str = Field(max_length=60)
    last_used_at: datetime | None = ts_field(nullable=True)
    revoked_at: datetime | None = ts_field(nullable=True)
    revoked_by: str | None = Field(default=None, max_length=60)
