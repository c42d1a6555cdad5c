"""Issue 18: `lims backup` includes the attachment files; `lims restore` brings them back,
each checked by its content hash."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lims.cli import app
from lims.files import attachments

PNG = b"\x89PNG\r\n\x1a\n" + b"photo one" * 20
PDF = b"%PDF-1.4\n" + b"scan two" * 20


def test_backup_and_restore_bring_attachments_back(env_db, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    var = tmp_path / "var"
    digests = [attachments.store(data, var) for data in (PNG, PDF)]
    out = tmp_path / "b.sqlite3"
    res = runner.invoke(app, ["backup", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    noted = json.loads(res.stdout)["attachments"]
    assert noted["files"] == 2 and (tmp_path / noted["file"]).is_file()
    assert not list(tmp_path.glob("*.partial"))
    (var / attachments.relative_path(digests[0])).unlink()               # lost
    (var / attachments.relative_path(digests[1])).write_bytes(b"%PDF-x")  # damaged
    res = runner.invoke(app, ["restore", str(out), "--yes"])
    assert res.exit_code == 0, res.output
    assert "attachments: 2 file(s) restored, 0 already there" in res.output
    assert [attachments.load(d, var) for d in digests] == [PNG, PDF]   # hashes checked


def test_restore_refuses_an_altered_attachments_archive(env_db, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    attachments.store(PNG, tmp_path / "var")
    out = tmp_path / "b.sqlite3"
    assert runner.invoke(app, ["backup", "--out", str(out)]).exit_code == 0
    tar = tmp_path / "b.sqlite3.attachments.tar"
    data = bytearray(tar.read_bytes())
    data[data.index(b"photo one")] ^= 1
    tar.write_bytes(bytes(data))
    res = runner.invoke(app, ["restore", str(out), "--yes"])
    assert res.exit_code != 0 and "the backup was altered" in res.output
