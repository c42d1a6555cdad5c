"""The bench's CPU meter: this process's CPU, PostgreSQL's backends' CPU, the cores' busy share,
and the bound they give (issue 15)."""

import os

import pytest
import sqlalchemy as sa

from lims.bench import cpu


def _spin(seconds: float) -> None:
    import time

    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_sqlite_counts_this_process_only(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    meter = cpu.Meter(engine)
    with meter:
        _spin(0.2)
    with meter:
        _spin(0.1)
    assert meter.total.server is None
    assert 0.3 <= meter.total.client < 1.0 and meter.last.client >= 0.1
    assert meter.total.wall >= meter.total.client * 0.9
    if os.path.exists("/proc/stat"):   # one core spun: some of the machine was busy
        assert 0 < meter.total.busy <= 1
    assert cpu.writers(engine) == 1   # SQLite: one writer at a time, whatever the cores
    got = cpu.per_reading(meter.total, 1000, cpu.writers(engine))
    assert got["server_us"] is None and got["cpu_us"] == pytest.approx(got["client_us"])
    assert got["bound"] == pytest.approx(1000 / meter.total.client)
    assert got["cores_for_20k"] == pytest.approx(20_000 * meter.total.client / 1000)
    text = cpu.note(got, "this process")
    assert "the database engine in it" in text and "on any number of cores" in text
    assert cpu.target(got) == "≤ 50 µs for 20 000/s on one writer"


def test_per_reading_arithmetic():
    span = cpu.Span(wall=2.0, client=0.6, server=0.4)
    got = cpu.per_reading(span, 5000, writers=2)
    assert got["client_us"] == pytest.approx(120) and got["server_us"] == pytest.approx(80)
    assert got["cpu_us"] == pytest.approx(200)
    assert got["bound"] == pytest.approx(2 * 5000)   # 1 CPU-second per 5 000, on 2 cores
    assert got["cores_for_20k"] == pytest.approx(4.0)
    assert cpu.target(got) == "≤ 100 µs for 20 000/s on 2 cores"
    text = cpu.note(got, "this process")
    assert "PostgreSQL 80 µs" in text and "at most 10,000 readings/s" in text
    assert "the CPU of 4.0 cores" in text


def test_not_a_postgres_process_is_never_read():
    assert cpu.on_cpu(os.getpid()) is None   # python, not postgres
    assert cpu.on_cpu(2 ** 22 + 12345) is None   # no such process


@pytest.mark.postgres
def test_postgres_backend_cpu_is_counted(pg_url):
    engine = sa.create_engine(pg_url)
    meter = cpu.Meter(engine)
    try:
        with engine.connect() as conn:
            local = conn.execute(cpu._LOCAL).scalar_one()
        with meter, engine.connect() as conn:   # the server works, this process waits
            conn.execute(sa.text("SELECT count(*) FROM generate_series(1, 4000000) g "
                                 "WHERE g % 7 = 3")).scalar_one()
        if not local:   # another machine's pids are never read
            assert meter.last.server is None and meter.total.server is None
            return
        assert meter.last.server >= 0.05
        assert meter.last.server > 2 * meter.last.client
        with meter:   # nothing sent: (next to) no server CPU
            pass
        assert meter.last.server < 0.02
    finally:
        engine.dispose()


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_tree_cpu_counts_a_servers_children():
    import signal
    import subprocess
    import sys

    spin = ("import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
            "print('spun', flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen(   # a supervisor whose worker does the work, as uvicorn's does
        [sys.executable, "-c", "import subprocess, sys, time\n"
         f"subprocess.Popen([sys.executable, '-c', {spin!r}])\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert parent.stdout.readline().strip() == "spun"
        own = sum(int(x) for x in cpu._stat(parent.pid)[11:13]) / os.sysconf("SC_CLK_TCK")
        total = cpu.tree_cpu(parent.pid)
        assert total - own >= 0.35   # the child's spin, not only the parent's own start
        assert cpu.tree_cpu(2 ** 22 + 12345) is None   # no such process
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
