"""The lineage graph of dp lineage and the console: jobs and datasets from the newest COMPLETE event
of each job, dashboards' reads from their code; walked upstream or downstream; laid out in
columns left to right (topics -> bronze -> silver -> gold -> dashboards) with versioned labels."""
from shared_lib import lineage_graph


def event(job, inputs=(), outputs=(), event_type="COMPLETE", versions=None):
    def ds(name):
        ns = "kafka://127.0.0.1:1" if "." not in name or name.startswith("web.") else "file:///ws"
        return {"namespace": ns, "name": name, "facets": {"version": {"datasetVersion": (versions or {}).get(name, "1")}}}
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


# w: two topics into bronze; silver MERGEs into its own table (reads and writes sessions); gold;
# a dashboard that reads silver and gold.
W_EVENTS = [
    event("w.bronze", ["web.events", "web.clicks"], ["w.bronze.raw"],
          versions={"web.events": "0:5", "web.clicks": "0:2", "w.bronze.raw": "3"}),
    event("w.silver", ["w.bronze.raw", "w.silver.sessions"], ["w.silver.sessions"],
          versions={"w.bronze.raw": "3", "w.silver.sessions": "7"}),
    event("w.gold", ["w.silver.sessions"], ["w.gold.kpis"], versions={"w.silver.sessions": "7", "w.gold.kpis": "2"}),
]
W_BOARDS = {"w": ["w.gold.kpis", "w.silver.sessions"]}


def test_layers_run_from_the_topics_to_the_dashboards():
    graph = lineage_graph.build(W_EVENTS, W_BOARDS)
    assert lineage_graph.layers(graph) == {
        "web.clicks": 0, "web.events": 0, "w.bronze": 1, "w.bronze.raw": 2, "w.silver": 3,
        # the MERGE's read of its own table does not push silver right of its output (no endless cycle)
        "w.silver.sessions": 4, "w.gold": 5, "w.gold.kpis": 6,
        # a dashboard is in the last column even where it also reads silver
        "dashboard:w": 7}


def test_a_gold_table_without_silver_is_in_the_gold_column_its_notebook_just_before():
    # m: bronze -> gold; the longest path alone would put gold.kpis in column 4 (silver's)
    graph = lineage_graph.build([event("m.bronze", ["m.events"], ["m.bronze.raw"]),
                                 event("m.gold", ["m.bronze.raw"], ["m.gold.kpis"])], dashboards={})
    assert lineage_graph.layers(graph) == {"m.events": 0, "m.bronze": 1, "m.bronze.raw": 2, "m.gold": 5,
                                           "m.gold.kpis": 6}


def test_layout_places_every_node_with_its_version_in_the_label():
    graph = lineage_graph.build(W_EVENTS, W_BOARDS)
    placed = {p.node: (p.kind, p.layer, p.row, p.label) for p in lineage_graph.layout(graph)}
    assert placed == {
        "web.clicks": ("topic", 0, 0, "web.clicks @0:2"),  # the first column by name
        "web.events": ("topic", 0, 1, "web.events @0:5"),
        "w.bronze": ("job", 1, 0, "bronze"),  # a notebook by its name, its product on hover
        "w.bronze.raw": ("table", 2, 0, "bronze.raw v3"),  # the product is on hover, not in the label
        "w.silver": ("job", 3, 0, "silver"),
        "w.silver.sessions": ("table", 4, 0, "silver.sessions v7"),
        "w.gold": ("job", 5, 0, "gold"),
        "w.gold.kpis": ("table", 6, 0, "gold.kpis v2"),
        "dashboard:w": ("dashboard", 7, 0, "w dashboard")}
    assert graph.edges == {("web.events", "w.bronze"), ("web.clicks", "w.bronze"), ("w.bronze", "w.bronze.raw"),
                           ("w.bronze.raw", "w.silver"), ("w.silver.sessions", "w.silver"),
                           ("w.silver", "w.silver.sessions"), ("w.silver.sessions", "w.gold"),
                           ("w.gold", "w.gold.kpis"), ("w.gold.kpis", "dashboard:w"),
                           ("w.silver.sessions", "dashboard:w")}


def test_a_column_follows_the_order_of_what_feeds_it_not_the_names():
    # a.topic is above z.topic (by name); b.bronze reads a.topic, so it goes above a.bronze
    graph = lineage_graph.build([event("a.bronze", ["z.topic"], ["a.bronze.t"]),
                                 event("b.bronze", ["a.topic"], ["b.bronze.t"])], dashboards={})
    rows = {p.node: (p.layer, p.row) for p in lineage_graph.layout(graph)}
    assert rows == {"a.topic": (0, 0), "z.topic": (0, 1), "b.bronze": (1, 0), "a.bronze": (1, 1),
                    "b.bronze.t": (2, 0), "a.bronze.t": (2, 1)}


def test_without_a_completed_run_there_is_no_lineage_only_dashboards():
    # a START alone (a run under way or killed) names no datasets
    graph = lineage_graph.build([event("w.bronze", event_type="START")], W_BOARDS)
    assert not lineage_graph.has_runs(graph)
    assert set(graph.nodes.values()) == {"table", "dashboard"}
    assert lineage_graph.has_runs(lineage_graph.build(W_EVENTS, {}))


def test_the_events_file_is_read_oldest_first_and_absent_means_none(tmp_path):
    import json

    assert lineage_graph.read_events(tmp_path / "none.jsonl") == []
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in W_EVENTS[:2]) + "\n\n")  # a blank line is skipped
    assert [e["job"]["name"] for e in lineage_graph.read_events(path)] == ["w.bronze", "w.silver"]


def test_the_dashboards_code_is_parsed_once_per_file_version(monkeypatch, tmp_path):
    import ast

    parsed = []
    real_parse = ast.parse
    monkeypatch.setattr(lineage_graph, "_parsed", {})
    monkeypatch.setattr(ast, "parse", lambda text, *a, **k: parsed.append(1) or real_parse(text, *a, **k))
    first = lineage_graph.dashboard_reads()
    files = len(parsed)
    assert files > 0 and lineage_graph.dashboard_reads() == first and len(parsed) == files
    module = tmp_path / "products" / "demo" / "dashboard.py"
    module.parent.mkdir(parents=True)
    module.write_text("lake.read_table(P, 'daily_kpis')\n")
    assert lineage_graph._string_literals(module, module.parent) == {"daily_kpis"}
    module.write_text("lake.read_table(P, 'daily_kpis_by_channel')  # changed: read again\n")
    assert lineage_graph._string_literals(module, module.parent) == {"daily_kpis_by_channel"}
