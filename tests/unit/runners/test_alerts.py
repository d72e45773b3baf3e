"""`dp alerts` and `dp alerts ack ID [--by NAME]` on a workspace of the test's own: the alert
log written with delta-rs, the acknowledgement read back, a refusal as one line."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from runners import cli, runlog
from shared_lib import lake, products

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.timezone.utc)


def fired(alert_id, minutes):
    at = T0 + dt.timedelta(minutes=minutes)
    return {"at": at, "date": at.date(), "alert_id": alert_id, "event": "fired", "rule": "stale-data",
            "product": "web-user-analytics", "metric": "data_freshness_minutes", "severity": "warning",
            "comparison": ">", "threshold": 30.0, "value": 45.0, "message": f"{alert_id} is stale", "notified": "log"}


@pytest.fixture
def alert_log(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = products.get("operational-metrics").table("alerts")
    rows = [fired("stale-data:web-user-analytics:20261102T100000Z", 0)]
    write_deltalake(str(table.path), pa.Table.from_pylist(rows, schema=runlog.arrow_schema(table)))
    return rows[0]["alert_id"]


def test_ack_records_who_and_when_and_the_list_shows_it(alert_log, capsys):
    assert cli.main(["alerts", "ack", alert_log, "--by", "ann"]) == 0
    assert capsys.readouterr().out.startswith(f"acknowledged {alert_log} by ann at ")
    acks = lake.read_table("operational-metrics", "alert_acks")
    assert acks[["alert_id", "acknowledged_by"]].values.tolist() == [[alert_log, "ann"]]
    assert cli.main(["alerts"]) == 0
    assert capsys.readouterr().out.startswith(f"acknowledged 2026-11-02 10:00  {alert_log} by ann\n")


def test_ack_by_default_is_the_os_user(alert_log, monkeypatch, capsys):
    monkeypatch.setattr("getpass.getuser", lambda: "ops-on-call")
    assert cli.main(["alerts", "ack", alert_log]) == 0
    assert lake.read_table("operational-metrics", "alert_acks")["acknowledged_by"].tolist() == ["ops-on-call"]


def test_a_second_ack_or_an_unknown_id_is_one_line_and_nothing_written(alert_log, capsys):
    assert cli.main(["alerts", "ack", alert_log, "--by", "ann"]) == 0
    capsys.readouterr()
    assert cli.main(["alerts", "ack", alert_log, "--by", "bob"]) == 2
    assert capsys.readouterr().err.startswith(f"dp alerts: ack: alert {alert_log} was acknowledged already by ann")
    assert cli.main(["alerts", "ack", "nope"]) == 2
    assert "no fired alert has the id 'nope' (no alert is open;" in capsys.readouterr().err
    assert len(lake.read_table("operational-metrics", "alert_acks")) == 1


def test_no_alert_yet(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    assert cli.main(["alerts"]) == 0
    assert capsys.readouterr().out == "no alert has fired yet\n"
