"""The API server fixture of tests/lims/api, for the station tests, and a central server with one
station that has its own data directory (the file-sync tests)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlmodel import Session

from lims.api.app import create_app
from lims.security.auth import SYSTEM
from lims.sync.http import Central
from lims.sync.pull import pull
from tests.conftest import _pg_database, _ready_engine
from tests.lims.api.conftest import LiveServer, seed, serve, token_for  # noqa: F401 (fixture)


@dataclass
class FileWorld:
    central: sa.Engine
    station: sa.Engine
    central_dir: Path
    link: Central
    url: str        # the live API's base URL
    token: str      # station-east's token


def image(fmt: str, colour: str) -> bytes:
    """A tiny real image file (PNG, JPEG …) of one colour."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buf, fmt)
    return buf.getvalue()


@contextmanager
def central_and_station(tmp_path_factory) -> Iterator[FileWorld]:
    """A real uvicorn API over a fresh PostgreSQL central database (seeded) with its own data
    directory, and one SQLite station (``station-east``, pulled) with another."""
    dbs = _pg_database()
    central = _ready_engine(next(dbs))
    seed(central)
    central_dir = tmp_path_factory.mktemp("central-var")
    srv = LiveServer(create_app(central, var_dir=central_dir)).start()
    try:
        with pytest.MonkeyPatch.context() as mp:   # the station's own data directory
            mp.setenv("LIMS_VAR_DIR", str(tmp_path_factory.mktemp("station-var")))
            station = _ready_engine(
                f"sqlite:///{tmp_path_factory.mktemp('st') / 'station.sqlite3'}")
            token = token_for(central, station="station-east")
            link = Central(srv.url, token)
            with Session(station) as s:
                pull(session=s, actor=SYSTEM, central=link)
            yield FileWorld(central, station, central_dir, link, srv.url, token)
            station.dispose()
    finally:
        srv.stop()
        central.dispose()
        dbs.close()
