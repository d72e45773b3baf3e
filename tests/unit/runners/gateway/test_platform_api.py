"""The platform API under /platform/ on small tables written with delta-rs: status (SLA state and
last run per notebook), executions (paginated, filtered), and runs started in the background by
a stand-in for `dp run` that takes the run lock and writes its run record as `dp run` does; a
second start while one runs answers 409; roles decide who may do what."""
import datetime as dt
import sys
import time

import pytest
from fastapi.testclient import TestClient

from runners import runlock, runlog
from runners.gateway import app as gateway_app
from runners.gateway import platform_api
from runners.gateway import registry as reg
from shared_lib.api import roles
from shared_lib.api.context import ApiContext
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks
from tests.browser import write_table

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)

# A stand-in for `dp run --run-id ID`: takes the run lock over, waits, records one notebook run
# with the outcome asked for, exits 0 if it succeeded. `crash` fails before any notebook.
FAKE_RUN = """
import sys, time
run_id, outcome, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if outcome == "crash":
    print("kafka is not reachable on 127.0.0.1:1: start the services with `dp up`")
    sys.exit(2)
from runners import runlock, runlog
with runlock.held(run_id):
    time.sleep(seconds)
    now = time.time()
    runlog.append([{"run_id": run_id, "env": "dev", "product": "web-user-analytics", "notebook": "bronze",
                    "layer": "bronze", "status": outcome, "attempts": 1, "started_at": now - seconds,
                    "ended_at": now, "duration_s": seconds}])
sys.exit(0 if outcome == "succeeded" else 1)
"""


class FakeRuns:
    """The run command of the app under test: what the next run does, and what was asked."""

    def __init__(self):
        self.outcome, self.seconds, self.asked = "succeeded", 0.0, []

    def __call__(self, run_id, request, env):
        self.asked.append((run_id, request, env))
        return [sys.executable, "-c", FAKE_RUN, run_id, self.outcome, str(self.seconds)]


@pytest.fixture
def platform(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    store = KeyStore(tmp_path / "keys.json")
    keys = {role: store.create(role)[0] for role in roles.ROLES}
    runs = FakeRuns()
    context = ApiContext(service="platform-api-gateway", product="platform", params={"env": "dev"}, keys=store,
                         sinks=Sinks.memory())
    app = gateway_app.create_app(reg.config({reg.GLOBAL_VAR: "[]"}), context=context,
                                 routers=(platform_api.platform_router(runs),))
    with TestClient(app) as client:
        yield client, keys, runs, context.sinks


def as_role(keys, role):
    return {"Authorization": f"Bearer {keys[role]}"}


def wait_until_finished(client, keys, run_id, timeout_s=30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = client.get(f"/platform/runs/{run_id}", headers=as_role(keys, "viewer")).json()["data"]
        if state["status"] != "running" and state["exit_code"] is not None:
            return state
        assert time.monotonic() < deadline, f"run {run_id} still running after {timeout_s} s"
        time.sleep(0.1)


def record(run_id, product, notebook, status, minutes, **extra):
    started = (T0 + dt.timedelta(minutes=minutes)).timestamp()
    return {"run_id": run_id, "env": "dev", "product": product, "notebook": notebook, "layer": "bronze",
            "status": status, "attempts": 1, "started_at": started, "ended_at": started + 30, "duration_s": 30.0,
            **extra}


def test_a_run_starts_in_the_background_and_its_state_follows_it(platform):
    client, keys, runs, _ = platform
    runs.seconds = 0.5
    started = client.post("/platform/runs", json={"products": ["web-user-analytics"], "layer": "bronze"},
                          headers=as_role(keys, "operator"))
    assert started.status_code == 202
    run_id = started.json()["data"]["run_id"]
    assert started.json()["data"]["status"] == "running"
    assert started.json()["data"]["links"] == {"self": f"/platform/runs/{run_id}"}
    assert runs.asked[0][1].products == ["web-user-analytics"] and runs.asked[0][2] == "dev"
    running = client.get(f"/platform/runs/{run_id}", headers=as_role(keys, "viewer")).json()["data"]
    assert running["status"] == "running"
    assert running["requested_by"].startswith("operator-")
    finished = wait_until_finished(client, keys, run_id)
    assert (finished["status"], finished["exit_code"], finished["counts"]) == (
        "succeeded", 0, {"succeeded": 1, "failed": 0, "skipped": 0})
    assert [(n["product"], n["notebook"], n["status"]) for n in finished["notebooks"]] == [
        ("web-user-analytics", "bronze", "succeeded")]
    assert runlock.holder() is None  # given back


def test_a_second_run_while_one_holds_the_lock_answers_409_naming_it(platform):
    client, keys, runs, _ = platform
    runs.seconds = 1.0
    first = client.post("/platform/runs", json={}, headers=as_role(keys, "operator")).json()["data"]["run_id"]
    second = client.post("/platform/runs", json={}, headers=as_role(keys, "admin"))
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    assert second.json()["error"]["details"]["run_id"] == first
    assert len(runs.asked) == 1  # nothing was started
    wait_until_finished(client, keys, first)
    assert client.post("/platform/runs", json={}, headers=as_role(keys, "operator")).status_code == 202


def test_a_failed_notebook_makes_a_failed_run(platform):
    client, keys, runs, _ = platform
    runs.outcome = "failed"
    run_id = client.post("/platform/runs", json={}, headers=as_role(keys, "operator")).json()["data"]["run_id"]
    state = wait_until_finished(client, keys, run_id)
    assert (state["status"], state["exit_code"], state["counts"]["failed"], state["error"]) == ("failed", 1, 1, None)


def test_a_run_that_fails_before_any_notebook_shows_why_and_frees_the_lock(platform):
    client, keys, runs, _ = platform
    runs.outcome = "crash"
    run_id = client.post("/platform/runs", json={}, headers=as_role(keys, "operator")).json()["data"]["run_id"]
    state = wait_until_finished(client, keys, run_id)
    assert (state["status"], state["exit_code"], state["notebooks"]) == ("failed", 2, [])
    assert "kafka is not reachable" in state["error"]
    assert runlock.holder() is None


@pytest.mark.parametrize("body, field", [
    ({"products": ["no-such-product"]}, "products"),
    ({"layer": "platinum"}, "layer"),
    ({"notebook": "web-user-analytics:no-such-notebook"}, "notebook"),
    ({"force": "yes please"}, "force"),
    ({"surprise": 1}, "surprise"),
])
def test_a_bad_run_request_is_a_400_naming_the_field_and_starts_nothing(platform, body, field):
    client, keys, runs, _ = platform
    answer = client.post("/platform/runs", json=body, headers=as_role(keys, "operator"))
    assert answer.status_code == 400
    assert field in answer.json()["error"]["message"]
    assert runs.asked == [] and runlock.holder() is None


@pytest.mark.parametrize("role, status", [("viewer", 403), ("analyst", 403), ("auditor", 403),
                                          ("operator", 202), ("admin", 202)])
def test_only_operators_and_admins_start_runs(platform, role, status):
    client, keys, runs, sinks = platform
    runs.outcome = "crash"  # quick: the role is what is tested
    answer = client.post("/platform/runs", json={}, headers=as_role(keys, role))
    assert answer.status_code == status
    if status == 403:
        assert sinks.audits[-1]["result"] == "denied"
    else:  # the run's process ends within this test, not in the next one's workspace
        wait_until_finished(client, keys, answer.json()["data"]["run_id"])


@pytest.mark.parametrize("path", ["/platform/status", "/platform/executions", "/platform/runs/x"])
def test_reads_need_a_key_of_the_ladder(platform, path):
    client, keys, _, _ = platform
    assert client.get(path).status_code == 401
    assert client.get(path, headers=as_role(keys, "auditor")).status_code == 403
    assert client.get(path, headers={"X-API-Key": keys["viewer"]}).status_code in (200, 404)


def test_an_unknown_run_is_404(platform):
    client, keys, _, _ = platform
    answer = client.get("/platform/runs/20240101T000000Z-abcd", headers=as_role(keys, "viewer"))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_run_started_by_dp_run_is_known_from_its_records(platform):
    client, keys, _, _ = platform
    runlog.append([record("r1", "web-user-analytics", "bronze", "succeeded", 0),
                   record("r1", "web-user-analytics", "silver", "failed", 1, error="boom"),
                   record("r1", "web-user-analytics", "gold", "skipped", 2)])
    state = client.get("/platform/runs/r1", headers=as_role(keys, "viewer")).json()["data"]
    assert (state["status"], state["counts"], state["request"]) == (
        "failed", {"succeeded": 1, "failed": 1, "skipped": 1}, None)
    assert [n["notebook"] for n in state["notebooks"]] == ["bronze", "silver", "gold"]  # in the order they ran


def test_executions_are_newest_first_paginated_and_filtered(platform):
    client, keys, _, _ = platform
    runlog.append([record("r1", "web-user-analytics", "bronze", "succeeded", 0),
                   record("r2", "web-user-analytics", "bronze", "failed", 10, error="boom"),
                   record("r3", "mobile-user-analytics", "bronze", "succeeded", 20)])
    page = client.get("/platform/executions?limit=2", headers=as_role(keys, "viewer")).json()
    assert [r["run_id"] for r in page["data"]] == ["r3", "r2"]
    assert page["meta"]["page"] == {"limit": 2, "offset": 0, "total": 3, "next_offset": 2}
    assert page["data"][1]["started_at"] == "2024-05-01T12:10:00.000Z"
    rest = client.get("/platform/executions?limit=2&offset=2", headers=as_role(keys, "viewer")).json()
    assert [r["run_id"] for r in rest["data"]] == ["r1"] and rest["meta"]["page"]["next_offset"] is None
    failed = client.get("/platform/executions?status=failed", headers=as_role(keys, "viewer")).json()
    assert [(r["run_id"], r["error"]) for r in failed["data"]] == [("r2", "boom")]
    mobile = client.get("/platform/executions?product=mobile-user-analytics", headers=as_role(keys, "viewer"))
    assert [r["run_id"] for r in mobile.json()["data"]] == ["r3"]
    assert client.get("/platform/executions?status=great", headers=as_role(keys, "viewer")).status_code == 400


def test_status_shows_each_products_sla_state_and_last_run_per_notebook(platform):
    client, keys, _, _ = platform
    evaluated = [T0, T0 + dt.timedelta(hours=1)]
    write_table("operational-metrics", "sla_status", [
        {"evaluated_at": at, "date": at.date(), "product": "web-user-analytics", "state": state,
         "previous_state": previous, "worst_metric": "data_freshness_minutes", "metrics_evaluated": 5}
        for at, state, previous in ((evaluated[0], "HEALTHY", None), (evaluated[1], "WARNING", "HEALTHY"))])
    runlog.append([record("r1", "web-user-analytics", "bronze", "failed", 0, error="old"),
                   record("r2", "web-user-analytics", "bronze", "succeeded", 10)])
    body = client.get("/platform/status", headers=as_role(keys, "viewer")).json()["data"]
    assert body["environment"] == "dev" and body["active_run"] is None
    products = {p["name"]: p for p in body["products"]}
    assert sorted(products) == ["compliance-auditing", "mobile-user-analytics", "operational-metrics",
                                "user-segmentation", "web-user-analytics"]
    web = products["web-user-analytics"]
    assert web["sla"] == {"state": "WARNING", "previous_state": "HEALTHY", "worst_metric": "data_freshness_minutes",
                          "evaluated_at": "2024-05-01T13:00:00.000Z"}  # the latest evaluation
    bronze = next(n for n in web["notebooks"] if n["notebook"] == "bronze")
    assert (bronze["last_run"]["run_id"], bronze["last_run"]["status"]) == ("r2", "succeeded")  # the newest
    assert all(n["last_run"] is None for n in web["notebooks"] if n["notebook"] != "bronze")
    assert products["mobile-user-analytics"]["sla"] is None  # never evaluated


def test_status_names_the_run_holding_the_lock(platform):
    client, keys, _, _ = platform
    runlock.acquire("r-live")
    active = client.get("/platform/status", headers=as_role(keys, "viewer")).json()["data"]["active_run"]
    assert active["run_id"] == "r-live"
