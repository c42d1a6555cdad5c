"""A small JSON client for the central server's API (``/api/v1``), on the standard library.

Every failure is a ``lims.errors`` type that names the URL: ``Unreachable`` (no connection,
timeout), ``ServerBusy`` (503: maintenance or restart; a kind of ``Unreachable``, with the
server's ``Retry-After``), ``PermissionDenied`` (401/403), ``ValidationFailed`` (422, with the
server's item errors), ``LimsError`` for anything else the server answered.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from lims.errors import ConfigError, LimsError, PermissionDenied, RowError, ValidationFailed


class Unreachable(LimsError):
    """The server could not be reached or did not answer in time (nothing was changed locally)."""


class ServerBusy(Unreachable):
    """503: the server is in maintenance (a restore) or restarting; nothing was stored there.
    ``retry_after``: the seconds it asked to wait."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def _seconds(value: str | None, default: int = 30) -> int:
    try:
        return max(1, int(str(value).strip()))
    except ValueError:
        return default


def token_from_env(var: str) -> str:
    token = os.environ.get(var, "").strip()
    if not token:
        raise ConfigError(f"--token-env {var}: the environment variable {var} is empty or unset "
                          "(put the station's API token there: `lims api token create` on the "
                          "central server prints it once)")
    return token


def _message(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(doc, dict):
        return str(doc.get("message") or doc.get("detail") or doc)
    return str(doc)


@dataclass
class Central:
    """The central server at ``base`` (e.g. ``https://lims.example.gov.cn``)."""

    base: str
    token: str
    timeout: float = 60.0

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + "/api/v1" + path

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self.send(method, path, data, "application/json")

    def send(self, method: str, path: str, data: bytes | None, content_type: str) -> Any:
        """A request with a raw body (e.g. a file: ``PUT /attachments/{sha256}``); its JSON
        answer."""
        url = self.url(path)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if exc.code in (401, 403):
                raise PermissionDenied(f"{url}: {exc.code}: {_message(raw)}") from None
            if exc.code == 503:
                wait = _seconds(exc.headers.get("Retry-After") if exc.headers else None)
                raise ServerBusy(f"{url}: the central server is busy ({_message(raw)}); nothing "
                                 f"was lost, try again in {wait} s", wait) from None
            if exc.code == 422:
                errors = [RowError(row=e.get("index"), field=e.get("field") or "",
                                   message=e.get("message") or "")
                          for e in json.loads(raw).get("errors", [])]
                raise ValidationFailed(errors, f"{url}: the server refused the batch "
                                               "(nothing stored there)") from None
            raise LimsError(f"{url}: HTTP {exc.code}: {_message(raw)}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"{url}: cannot reach the central server ({reason}); "
                              "nothing was lost, try again when online") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise LimsError(f"{url}: the answer is not JSON: {raw[:120]!r}") from None
