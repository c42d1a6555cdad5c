"""Reference data carry source and edition; malformed files are refused with the field named."""

import pytest

from calibration.refdata import load_analyzer, load_bp, load_qc, load_weighing
from calibration.weighing import mpe


def test_every_file_states_source_and_edition():
    for ref in (load_weighing(), load_bp(), load_analyzer(), load_qc()):
        assert ref.provenance.source and ref.provenance.edition
    assert "JJF 1729" in load_analyzer().provenance.edition
    assert load_bp().provenance.confirmed is False


def test_edited_reference_file_changes_the_limit(tmp_path):
    from calibration.refdata import DATA_DIR

    text = (DATA_DIR / "weighing.toml").read_text(encoding="utf-8")
    edited = tmp_path / "w.toml"
    edited.write_text(text.replace("in_service_factor = 2.0", "in_service_factor = 3.0"),
                      encoding="utf-8")
    ref = load_weighing(edited)
    assert mpe(100, e=1, accuracy_class="III", in_service=True, ref=ref) == 1.5


def test_malformed_file_names_the_field(tmp_path):
    bad = tmp_path / "qc.toml"
    bad.write_text('source = "x"\nedition = "1"\nmin_control_delta = "high"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="min_control_delta"):
        load_qc(bad)
    with pytest.raises(ValueError, match="reference data"):
        load_bp(tmp_path / "missing.toml")
