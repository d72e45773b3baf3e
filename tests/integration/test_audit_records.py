"""The platform's own actions reach the audit trail (shared_lib.audit, through a real broker):
`dp run` of web-user-analytics records one read per personal-data table its notebooks read, and
an export recorded by a person's command carries the actor from the environment and a keyed hash
of the subject, never the raw id; both pass compliance bronze -> silver like any audit event.

Web events here are dated May 2021 with ids starting ``ita-``; the broker and workspace are
shared with the other tests of the session.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from runners import cli
from shared_lib import audit, products, subject_hash
from tests.integration import pipeline

pytestmark = pytest.mark.integration

WEB, COMPLIANCE = "web-user-analytics", "compliance-auditing"
SUBJECT = "ita-subject-1"
WEB_EVENT = {"event_id": "ita-1", "event_type": "page_view", "event_ts": "2021-05-10T09:00:00Z",
             "anonymous_id": "ita-visitor", "page_url": "https://shop.example.com/",
             "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}


@pytest.fixture(scope="module")
def trail(params, tmp_path_factory):
    started = pd.Timestamp(dt.datetime.now(dt.timezone.utc))
    pipeline.produce(params, WEB, [WEB_EVENT], "anonymous_id")
    assert cli.main(["run", "--product", WEB]) == 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DP_ACTOR", "ita-dpo@corp.example")
        mp.setenv("DP_ROLE", "dpo")
        sent = audit.record(params, None, "export", f"{WEB}.silver.events", "success", columns=["anonymous_id"],
                            purpose="legal", subject_id=SUBJECT)
    pipeline.run_pipeline(COMPLIANCE)
    df = pipeline.table(COMPLIANCE, "audit_trail")
    return df[pd.to_datetime(df["event_ts"], utc=True) >= started], sent


def test_dp_run_records_one_read_per_personal_table_of_web_by_the_runner(trail):
    df, _ = trail
    runs = df[(df["actor"] == "svc-dp-runner") & df["resource"].str.startswith(WEB)]
    personal = products.personal_columns_of([products.get(WEB)])
    read = {r.resource: (r.actor_role, r.action, list(r.columns), r.purpose, r.result) for r in runs.itertuples()}
    # bronze -> silver reads events_raw, silver -> gold reads the silver events (and sessions)
    assert f"{WEB}.bronze.events_raw" in read and f"{WEB}.silver.events" in read
    assert len(runs) == len(read)  # one event per table in one run, however many rows
    for table, got in read.items():
        assert got == ("service", "read", personal[table], "analytics", "success"), table


def test_an_export_carries_the_actor_from_the_environment_and_only_a_hash_of_the_subject(trail):
    df, sent = trail
    row = df[df["event_id"] == sent["event_id"]]
    assert len(row) == 1
    r = row.iloc[0]
    assert (r.actor, r.actor_role, r.action, r.resource, list(r.columns), r.purpose, r.result) == (
        "ita-dpo@corp.example", "dpo", "export", f"{WEB}.silver.events", ["anonymous_id"], "legal", "success")
    assert r.subject_hash == subject_hash.hash_id(SUBJECT, subject_hash.workspace_key())
    assert SUBJECT not in df.to_string()
