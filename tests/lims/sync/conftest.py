"""The API server fixture of tests/lims/api, for the station tests."""

from tests.lims.api.conftest import serve  # noqa: F401 (fixture)
