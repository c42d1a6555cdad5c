"""The HTTP API of the central server (FastAPI; ``lims api serve`` runs it with uvicorn).

``create_app`` builds the application; routes live in ``lims.api.routes`` (health, readings,
reference, public), tokens in ``lims.api.tokens``, request limits in ``lims.api.limits`` and the
JSON error answers in ``lims.api.errors``. OpenAPI docs: ``/api/docs``.
"""

from __future__ import annotations

VERSION = "v1"


def create_app(*args, **kwargs):
    """See ``lims.api.app.create_app`` (imported lazily: FastAPI is loaded only when needed)."""
    from lims.api.app import create_app as _create

    return _create(*args, **kwargs)
