"""Every setting declared in lims/settings.py is documented in the README's configuration table."""

import re

from lims.settings import PROJECT_ROOT, SETTINGS


def test_readme_documents_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|\s*`(LIMS_[A-Z_]+)`\s*\|", readme, flags=re.MULTILINE))
    declared = {s.name for s in SETTINGS}
    assert declared, "no settings declared"
    missing = sorted(declared - documented)
    assert not missing, f"settings missing from the README configuration table: {missing}"


def test_settings_have_help():
    for s in SETTINGS:
        assert s.name.startswith("LIMS_") and len(s.help) > 10, s.name
