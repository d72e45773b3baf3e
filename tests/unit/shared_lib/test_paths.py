"""Table locations: one place maps product/layer/table to a Delta location in the workspace."""
import pytest

from shared_lib import paths, products


def test_locations_follow_the_workspace(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path / "ws"))
    assert paths.workspace() == tmp_path / "ws"
    assert paths.table_path("web-user-analytics", "bronze", "events_raw") == \
        tmp_path / "ws" / "lake" / "web-user-analytics" / "bronze" / "events_raw"
    assert paths.table_path("platform", "platform", "pipeline_runs") == tmp_path / "ws" / "lake" / "platform" / "pipeline_runs"
    assert paths.checkpoint_path("web-user-analytics", "events_raw") == \
        tmp_path / "ws" / "checkpoints" / "web-user-analytics" / "events_raw"


def test_default_workspace_is_in_the_checkout(monkeypatch):
    monkeypatch.delenv("DP_HOME", raising=False)
    monkeypatch.delenv("DP_REPORTS", raising=False)
    assert paths.workspace() == paths.PROJECT_ROOT / ".dp"
    assert paths.reports_dir() == paths.PROJECT_ROOT / "reports"


@pytest.mark.parametrize("product,layer,table,message", [
    ("web-user-analytics", "platinum", "t", "unknown layer 'platinum'"),
    ("Web", "bronze", "t", "invalid product name 'Web'"),
    ("web", "bronze", "../etc", "invalid table name '../etc'"),
])
def test_bad_names_are_refused(product, layer, table, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        paths.table_path(product, layer, table)


def test_declared_table_paths_and_names(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    bronze = products.get("web-user-analytics").table("events_raw")
    assert bronze.qualified_name == "web-user-analytics.bronze.events_raw"
    assert bronze.path == tmp_path / "lake" / "web-user-analytics" / "bronze" / "events_raw"
    runs = products.find_table("platform.pipeline_runs")
    assert runs.path == tmp_path / "lake" / "platform" / "pipeline_runs"
    assert paths.package_name("web-user-analytics") == "web_user_analytics"
