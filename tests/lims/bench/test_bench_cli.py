"""`lims bench` runs end to end at a tiny scale and reports every figure (no speed asserted)."""

import json

from typer.testing import CliRunner

from lims.cli import app


def test_bench_reports_every_figure(env_db, tmp_path):
    res = CliRunner().invoke(app, [
        "bench", "--results", "2000", "--repeat", "1", "--ingest", "300", "--ingest-batch",
        "150", "--latency", "3", "--codec-messages", "20", "--workdir", str(tmp_path / "b"),
        "--markdown", str(tmp_path / "b.md"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{"):])
    figures = {r["figure"] for r in data["rows"]}
    for want in ("trend: one county × 2 years", "trend: all markets × 2 years",
                 "heatmap: all markets × 52 weeks", "commodity × analyte: province × 52 weeks",
                 "ingest, batches of 150", "serial frame → committed row",
                 "dashboard data path, peak RSS"):
        assert want in figures
    assert any(f.startswith("codec astm") for f in figures)
    duck = [r for r in data["rows"]
            if r["figure"].startswith("trend") and "rollup" not in r["figure"]]
    assert all(r["duckdb"] and r["ratio"] for r in duck)
    assert data["scale"]["markets"] == 10 and "| sqlite |" in (tmp_path / "b.md").read_text()
