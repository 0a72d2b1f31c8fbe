import pytest


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # One owner-table cache for the session, never the developer's home.
    monkeypatch.setenv("VPCFLOW_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "vpcflow-cache"))
