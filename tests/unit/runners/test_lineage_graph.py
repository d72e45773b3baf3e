"""dp lineage's graph: jobs and datasets from the newest COMPLETE event of each job, dashboards'
reads from their code; walked upstream or downstream."""
from runners import lineage_graph


def event(job, inputs=(), outputs=(), event_type="COMPLETE"):
    def ds(name):
        ns = "kafka://127.0.0.1:1" if "." not in name or name.startswith("web.") else "file:///ws"
        return {"namespace": ns, "name": name, "facets": {"version": {"datasetVersion": "1"}}}
    return {"eventType": event_type, "job": {"name": job}, "inputs": [ds(n) for n in inputs],
            "outputs": [ds(n) for n in outputs]}


EVENTS = [
    event("web-user-analytics.bronze", ["web.events"], ["web-user-analytics.bronze.events_raw"]),
    event("web-user-analytics.silver", ["web-user-analytics.bronze.events_raw"], ["web-user-analytics.silver.events"]),
    event("web-user-analytics.gold", ["web-user-analytics.silver.events"], ["web-user-analytics.gold.daily_kpis"]),
    # a START names no datasets and does not replace the COMPLETE
    event("web-user-analytics.gold", event_type="START"),
]


def test_upstream_of_a_gold_table_reaches_the_topic():
    graph = lineage_graph.build(EVENTS).around("web-user-analytics.gold.daily_kpis", "upstream")
    assert set(graph.nodes) == {"web.events", "web-user-analytics.bronze", "web-user-analytics.bronze.events_raw",
                                "web-user-analytics.silver", "web-user-analytics.silver.events",
                                "web-user-analytics.gold", "web-user-analytics.gold.daily_kpis"}
    assert graph.nodes["web.events"] == "topic"


def test_downstream_of_the_topic_reaches_the_dashboard():
    graph = lineage_graph.build(EVENTS).around("web.events", "downstream")
    assert graph.nodes["dashboard:web-user-analytics"] == "dashboard"
    assert ("web-user-analytics.gold.daily_kpis", "dashboard:web-user-analytics") in graph.edges
    # other products' dashboards are not downstream of web.events
    assert "dashboard:mobile-user-analytics" not in graph.nodes


def test_dashboard_reads_are_derived_from_the_dashboard_code():
    reads = lineage_graph.dashboard_reads()
    assert reads["mobile-user-analytics"] == ["mobile-user-analytics.gold.daily_by_version",
                                              "mobile-user-analytics.gold.daily_kpis",
                                              "mobile-user-analytics.gold.retention"]
    # operational-metrics reads the runner's records through its current.py
    assert "platform.pipeline_runs" in reads["operational-metrics"]


def test_a_plain_table_name_resolves_when_it_is_unique():
    graph = lineage_graph.build(EVENTS)
    assert lineage_graph.resolve(graph, "events_raw") == "web-user-analytics.bronze.events_raw"
