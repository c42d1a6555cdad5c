"""`lims bench` runs end to end at a tiny scale and reports every figure (no speed asserted)."""

import json

from typer.testing import CliRunner

from lims.cli import app


def test_bench_reports_every_figure(env_db, tmp_path):
    res = CliRunner().invoke(app, [
        "bench", "--results", "2000", "--repeat", "1", "--ingest", "300", "--ingest-batch",
        "150", "--latency", "3", "--codec-messages", "20", "--api", "200", "--push", "100",
        "--import-rows", "1200", "--workdir", str(tmp_path / "b"),
        "--markdown", str(tmp_path / "b.md"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{"):])
    figures = {r["figure"] for r in data["rows"]}
    for want in ("trend: one county × 2 years", "trend: all markets × 2 years",
                 "heatmap: all markets × 52 weeks", "commodity × analyte: province × 52 weeks",
                 "ingest, batches of 150", "serial frame → committed row",
                 "dashboard data path, peak RSS", "API upload, POST /api/v1/readings × 1 000",
                 "station push of 100 results"):
        assert want in figures
    assert any(f.startswith("codec astm") for f in figures)
    rows = {r["figure"]: r for r in data["rows"]}
    for label in ("codec profile:gold-reader", "codec profile:enzyme-12ch"):
        assert rows[label]["median"] > 0 and "by CPU time" in rows[label]["note"]
    assert rows["API upload, POST /api/v1/readings × 1 000"]["median"] > 0
    [par] = [r for r in data["rows"] if "stations at once to" in r["figure"]]
    assert par["median"] > 0 and "lims api serve --workers" in par["note"]
    county = rows["ingest, batches of 150 from 10 markets"]   # every market there is, here
    assert county["median"] > 0 and "3 instruments per batch" in county["note"]
    assert "results/s" in rows["station push of 100 results"]["note"]
    for label in ("CPU per reading, batches of 150", "CPU per reading, batches of 150 from 10 "
                  "markets", "CPU per reading, API upload × 1 000"):   # what the cores bound
        assert rows[label]["median"] > 0 and rows[label]["unit"] == "µs"
        assert "one writer at a time: at most" in rows[label]["note"]   # SQLite
        assert rows[label]["target"].startswith("≤ ") and "20 000/s" in rows[label]["target"]
    assert "busy meanwhile" in par["note"] and "CPU per reading: the workers" in par["note"]
    grading = rows["grade every vendor"]
    assert grading["median"] > 0 and grading["note"].startswith("200 vendors")
    imp = next(r for r in data["rows"] if r["figure"].startswith("import of a"))
    assert "(1,200 rows)" in imp["figure"] and imp["median"] > 0
    assert "peak RSS" in imp["note"] and "publish (one transaction)" in imp["note"]
    lat = rows["serial frame → committed row"]["note"]
    assert "chunks" in lat and "listener CPU" in lat and "warm-up 3 message(s)" in lat
    duck = [r for r in data["rows"]
            if r["figure"].startswith("trend") and "rollup" not in r["figure"]]
    assert all(r["duckdb"] and r["ratio"] for r in duck)
    assert data["scale"]["markets"] == 10 and "| sqlite |" in (tmp_path / "b.md").read_text()


def test_codec_rates_wall_and_cpu():
    from lims.bench import serial_bench

    data, readings = serial_bench.transcript("profile", "gold-reader", 20)
    assert readings == 20
    wall, cpu = serial_bench.codec_rates("profile", "gold-reader", data, 2)
    assert len(wall) == len(cpu) == 2 and min(wall) > 0 and min(cpu) > 0
    assert serial_bench.codec_throughput("profile", "gold-reader", data, 1)[0] > 0
