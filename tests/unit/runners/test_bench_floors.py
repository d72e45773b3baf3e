"""The same-work DuckDB floors of `dp bench` on hand-computed inputs: the contract's reasons as
the pipeline gives them, sessions, and compliance's long-format KPIs."""
import datetime as dt
import json

import pytest

from products.web_user_analytics.contract import WEB_CONTRACT
from runners.bench.floors import common, compliance, web
from shared_lib import params as params_lib

EVENTS = "web-user-analytics.silver.events"
PERSONAL = {EVENTS: ["anonymous_id", "ip"]}


def web_line(event_id, ts, event_type="page_view", visitor="v1", **fields):
    event = {"event_id": event_id, "event_type": event_type, "event_ts": ts, "anonymous_id": visitor,
             "page_url": "https://shop.example.com/", **fields}
    return json.dumps(event, separators=(",", ":"))


def reasons_of(tmp_path, lines):
    path = tmp_path / "lines.jsonl"
    path.write_text("\n".join(lines) + "\n")
    con = common.connect()
    common.load_lines(con, path)
    common.validate(con, WEB_CONTRACT)
    return [r[0] for r in con.execute("SELECT reason FROM validated ORDER BY line").fetchall()]


def test_the_contract_in_sql_gives_the_pipeline_s_first_failing_reason(tmp_path):
    assert reasons_of(tmp_path, [
        web_line("a", "2026-04-01T12:00:00.000Z", page_load_ms="12", country="zz"),  # clean: bad country nulled
        web_line("b", "2026-04-01T12:00:00Z", event_type="teleport"),
        web_line("c", "2026-04-01T12:00:00"),  # no zone
        json.dumps(["c", "click"]),  # not an object
        web_line("d", "2026-04-01T12:00:00Z")[:-3],  # broken
        web_line("e", 1775044800000, event_type="purchase", order_id="o", revenue="3.5", page_load_ms="fast"),
        web_line("f", 1775044800000, event_type="purchase", order_id="o", revenue=-1),
        web_line("g", "2099-04-01T12:00:00Z", visitor="  "),  # the time is checked before the visitor
        web_line("h", "2026-04-01T12:00:00Z", visitor="  "),
        web_line("i", "2026-04-01T12:00:00Z", event_type="click", properties="x"),
    ]) == [None, "bad_value:event_type", "bad_timestamp", "malformed_json", "malformed_json",
           "bad_type:page_load_ms", "bad_value:revenue", "future_timestamp", "missing_field:anonymous_id",
           "bad_type:properties"]


def test_a_floor_s_ingest_loads_validates_and_quarantines_the_bad_lines_cut_to_the_maximum(tmp_path):
    good, broken = web_line("a", "2026-04-01T12:00:00Z"), web_line("b", "2026-04-01T12:00:00Z")[:-3]
    path = tmp_path / "lines.jsonl"
    path.write_text(f"{good}\n{broken}\n")
    con = common.connect()
    common.ingest(con, path, WEB_CONTRACT, 10)
    assert con.execute("SELECT line, reason FROM validated ORDER BY line").fetchall() == [(1, None), (2, "malformed_json")]
    assert common.rows(con, "quarantine") == [{"line": 2, "reason": "malformed_json", "event_id": None,
                                               "value": '{"event_id', "value_bytes": len(broken)}]


def test_a_floor_s_finish_creates_gold_in_order_writes_every_table_and_returns_the_checked_rows(tmp_path):
    con = common.connect()
    con.execute("CREATE TABLE events AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'a')) t(line, page)")
    gold = {"pages": "SELECT page, count(*) AS views FROM events GROUP BY page ORDER BY page",
            "top": "SELECT page FROM pages ORDER BY views DESC LIMIT 1"}  # reads the gold table before it

    checked = common.finish(con, tmp_path / "out", gold, ["events"])
    only_top = common.finish(common.connect(), tmp_path / "other", {"top": "SELECT 'b' AS page"}, [], checked=[])

    assert checked == {"pages": [{"page": "a", "views": 2}, {"page": "b", "views": 1}], "top": [{"page": "a"}]}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["events.parquet", "pages.parquet", "top.parquet"]
    assert only_top == {} and [p.name for p in (tmp_path / "other").iterdir()] == ["top.parquet"]


def test_the_web_floor_splits_sessions_after_the_timeout_and_counts_each_day(tmp_path):
    path = tmp_path / "web.jsonl"
    path.write_text("\n".join([
        web_line("e1", "2026-04-01T10:00:00Z"),
        web_line("e2", "2026-04-01T10:30:00Z"),  # 30 min later: the same session
        web_line("e2", "2026-04-01T10:30:00Z"),  # delivered twice
        web_line("e3", "2026-04-01T11:00:00.001Z"),  # 30 min and 1 ms later: a new session
        web_line("e4", "2026-04-02T09:00:00Z", visitor="v2", user_agent="curl/8.5.0"),  # a bot
    ]) + "\n")
    gold = web.run(path, tmp_path / "out", params_lib.load("dev"))
    days = sorted(gold["daily_kpis"], key=lambda r: r["date"])
    assert [(r["date"], r["sessions"], r["visitors"], r["page_views"], r["bot_events"]) for r in days] == [
        (dt.date(2026, 4, 1), 2, 1, 3, 0), (dt.date(2026, 4, 2), 0, 0, 0, 1)]
    assert (tmp_path / "out" / "sessions.parquet").exists()
    journey = next(r for r in gold["user_journeys"] if r["id"] == "v1")
    assert (journey["sessions"], journey["countries"]) == (2, [])  # no country known: [] as Spark's collect_set


@pytest.fixture
def hash_key(monkeypatch):
    monkeypatch.setenv("DP_HASH_KEY", "test-key")


def audit_line(event_id, ts, action="read", result="success", resource=EVENTS, **fields):
    return json.dumps({"event_id": event_id, "event_ts": ts, "actor": "alice", "action": action,
                       "resource": resource, "result": result, **fields}, separators=(",", ":"))


def test_the_compliance_floor_gives_the_long_format_kpis_of_each_day(tmp_path, hash_key):
    lines = [
        audit_line("a1", "2024-03-10T09:00:00Z", purpose="analytics", subject_id="s1"),  # read with a purpose
        audit_line("a2", "2024-03-10T09:01:00Z", subject_id="s1"),  # personal: names a subject, no purpose
        audit_line("a3", "2024-03-10T09:02:00Z", columns=["page_path"]),  # no personal column: not counted
        audit_line("a4", "2024-03-10T09:03:00Z", columns=["page_path", "ip"]),  # a personal column
        audit_line("a5", "2024-03-10T09:04:00Z", result="denied", subject_id="s2"),  # denied: nothing read
        audit_line("a6", "2024-03-10T09:05:00Z", action=" EXPORT ", subject_id="s2"),  # export, normalized
        audit_line("a7", "2024-03-10T23:59:59+01:00", resource="/login", action="login", result="failure"),
        audit_line("a2", "2024-03-10T09:01:00Z", subject_id="s1"),  # delivered twice: counted once
        audit_line("a8", "2024-03-11T10:00:00Z", columns=[]),  # whole table, no purpose
        audit_line("a9", "2024-03-11T10:01:00Z", resource="web-user-analytics.gold.daily_kpis"),  # no personal data
        audit_line("a10", "2024-03-11T10:02:00Z", purpose=" "),  # a blank purpose is no purpose
        audit_line("q1", "2024-03-10T09:00:00Z", action="peek"),  # quarantined from here on
        audit_line("q3", "2024-03-10T09:00:00Z", columns="ip"),
        audit_line("q5", "2024-03-10T09:00:00Z", purpose="curiosity"),
    ]
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rows = compliance.run(path, tmp_path / "out", params_lib.load("dev"), PERSONAL)["daily_compliance_kpis"]
    d1, d2 = dt.date(2024, 3, 10), dt.date(2024, 3, 11)
    assert sorted((r["date"], r["kpi"], r["dimension_value"], r["value"]) for r in rows) == [
        (d1, "audit_events", "all", 7.0), (d1, "audit_events", "export/success", 1.0),
        (d1, "audit_events", "login/failure", 1.0), (d1, "audit_events", "read/denied", 1.0),
        (d1, "audit_events", "read/success", 4.0), (d1, "denied_accesses", "all", 1.0),
        (d1, "reads_without_purpose", "all", 2.0),
        (d2, "audit_events", "all", 3.0), (d2, "audit_events", "read/success", 3.0),
        (d2, "denied_accesses", "all", 0.0), (d2, "reads_without_purpose", "all", 2.0)]


def test_the_segmentation_floor_scores_customers_from_silver_as_the_pipeline(tmp_path, monkeypatch):
    import pandas as pd
    from deltalake import write_deltalake

    from runners.bench.floors import segmentation
    from shared_lib import products

    monkeypatch.setenv("DP_HOME", str(tmp_path / "ws"))
    utc = dt.timezone.utc
    events = pd.DataFrame({
        "event_id": ["p1", "p2", "p2b", "p3", "v1"],
        "event_type": ["purchase", "purchase", "purchase", "purchase", "page_view"],
        "event_ts": [dt.datetime(2020, 12, 1, 10, tzinfo=utc), dt.datetime(2020, 12, 20, 10, tzinfo=utc),
                     dt.datetime(2020, 12, 20, 11, tzinfo=utc), dt.datetime(2020, 12, 30, 10, tzinfo=utc),
                     dt.datetime(2020, 12, 31, 10, tzinfo=utc)],
        "user_id": ["u1", "u1", "u1", "u2", "u2"],
        "order_id": ["o1", "o2", "o2", "o3", None],  # o2 sent twice: its first event counts
        "revenue": [10.0, 5.0, 99.0, 7.5, None],
        "is_bot": [False] * 5})
    sessions = pd.DataFrame({"user_id": ["u1", "u2", "u2"], "session_date": [dt.date(2020, 12, 20), dt.date(2020, 12, 30),
                                                                            dt.date(2020, 11, 1)],
                             "engaged": [True, False, True], "duration_s": [30.0, 10.0, 5.0]})
    web = products.get("web-user-analytics")
    write_deltalake(str(web.table("events").path), events)
    write_deltalake(str(web.table("sessions").path), sessions)
    rows = segmentation.run(tmp_path / "out", params_lib.load("dev"), dt.date(2021, 1, 1))
    features = {r["user_id"]: r for r in rows["customer_features"]}
    u1, u2 = features["u1"], features["u2"]
    assert (u1["frequency"], u1["monetary"], u1["recency_days"], u1["customer_age_days"]) == (2, 15.0, 12, 31)
    assert (u1["sessions_30d"], u1["engaged_sessions_30d"], u1["avg_session_time_s"]) == (1, 1, 30.0)
    assert (u2["frequency"], u2["monetary"], u2["recency_days"], u2["sessions_30d"]) == (1, 7.5, 2, 1)
    assert u2["last_activity_date"] == dt.date(2020, 12, 31) and u2["days_since_last_activity"] == 1
    scores = {r["user_id"]: (r["r"], r["f"], r["m"]) for r in rows["customer_segments"]}
    # Two customers, five quintiles: ntile gives 1 and 2 in the order of (value, user_id); R = 6 - ntile.
    assert scores == {"u1": (4, 2, 2), "u2": (5, 1, 1)}
    assert sum(r["customers"] for r in rows["rfm_grid"]) == 2 and len(rows["rfm_grid"]) == 25


def mobile_line(event_id, ts, device, version="1.0", event_type="app_open"):
    return json.dumps({"event_id": event_id, "event_type": event_type, "event_ts": ts, "device_id": device,
                       "platform": "iOS", "app_version": version}, separators=(",", ":"))


def test_the_mobile_floor_gives_device_days_windows_sessions_and_retention(tmp_path):
    from runners.bench.floors import mobile

    path = tmp_path / "mobile.jsonl"
    path.write_text("\n".join([
        mobile_line("m1", "2026-04-01T10:00:00Z", "d1", "1.0"),
        mobile_line("m2", "2026-04-01T12:00:00Z", "d1", "2.0", event_type="crash"),  # 2 h later: a new session
        mobile_line("m3", "2026-04-02T09:00:00Z", "d1", "2.0"),
        mobile_line("m4", "2026-04-02T10:00:00Z", "d2", "2.0"),
    ]) + "\n")
    gold = mobile.run(path, tmp_path / "out", params_lib.load("dev"))
    d1, d2 = dt.date(2026, 4, 1), dt.date(2026, 4, 2)
    assert sorted((r["date"], r["device_id"], r["app_version"], r["events"], r["crashed"]) for r in gold["device_activity"]
                  ) == [(d1, "d1", "2.0", 2, True), (d2, "d1", "2.0", 1, False), (d2, "d2", "2.0", 1, False)]
    kpis = {r["date"]: r for r in gold["daily_kpis"]}
    assert [(kpis[d]["dau"], kpis[d]["mau"], kpis[d]["new_devices"], kpis[d]["sessions"], kpis[d]["crashed_sessions"])
            for d in (d1, d2)] == [(1, 1, 1, 2, 1), (2, 2, 1, 2, 0)]
    assert kpis[d1]["crash_free_users"] == 0.0 and kpis[d1]["crash_free_sessions"] == 0.5
    retention = {(r["cohort_date"], r["day_n"]): (r["cohort_size"], r["retained_devices"]) for r in gold["retention"]}
    assert retention[(d1, 1)] == (1, 1) and retention[(d1, 7)] == (1, None) and retention[(d2, 1)] == (1, None)
