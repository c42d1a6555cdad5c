"""Every --out: regular files are replaced whole (via NAME.part), device nodes and FIFOs are
written in place and stay what they are (issue 18: `--out /dev/null` as root replaced
/dev/null with a regular file)."""

from __future__ import annotations

import os
import stat
import threading

import pytest
from typer.testing import CliRunner

from lims.cli import app
from lims.errors import InvalidInput
from lims.files.output import open_output, write_output


def fifo_reader(path):
    got: list[bytes] = []

    def read():
        with open(path, "rb") as fh:
            got.append(fh.read())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t, got


def test_a_fifo_target_stays_a_fifo_and_gets_the_data(tmp_path):
    target = tmp_path / "pipe"
    os.mkfifo(target)
    t, got = fifo_reader(target)
    write_output(target, "结果\n")
    t.join(timeout=10)
    assert got == ["结果\n".encode()]
    assert stat.S_ISFIFO(os.stat(target).st_mode)
    assert not (tmp_path / "pipe.part").exists()


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), open_output(target) as fh:
        fh.write(b"half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert not (tmp_path / "report.csv.part").exists()
    write_output(target, b"new\n")
    assert target.read_text() == "new\n"


def test_a_directory_or_a_missing_folder_is_refused_by_name(tmp_path):
    with pytest.raises(InvalidInput, match="is a directory"):
        write_output(tmp_path, b"x")
    with pytest.raises(InvalidInput, match="does not exist"):
        write_output(tmp_path / "nope" / "x.csv", b"x")


def test_results_export_to_a_fifo_through_the_cli(sqlite_engine, env_db, tmp_path):
    target = tmp_path / "export-pipe"
    os.mkfifo(target)
    t, got = fifo_reader(target)
    out = CliRunner().invoke(app, ["results", "export", "--out", str(target)],
                             catch_exceptions=False)
    t.join(timeout=10)
    assert out.exit_code == 0, out.output
    assert got and got[0].decode("utf-8-sig").startswith("result_id,sample_code")
    assert stat.S_ISFIFO(os.stat(target).st_mode)
