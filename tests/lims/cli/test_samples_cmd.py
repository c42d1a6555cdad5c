"""`lims samples register` and `lims samples label` from the command line."""

from __future__ import annotations

import json


def test_samples_cli_register_and_label(lims, places, tmp_path):
    r = lims("samples", "register", "--market", "T-F01", "--stall", "A01", "--commodity",
             "celery", "--at", "2026-05-06 09:30", "--json")
    assert r.exit_code == 0, r.output
    code = json.loads(r.output)["sample_code"]
    out = tmp_path / "labels.pdf"
    r = lims("samples", "label", code, "--out", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:5] == b"%PDF-"
    r = lims("samples", "label", "NOPE1234", "--out", out)
    assert r.exit_code != 0 and "NOPE1234" in r.output
