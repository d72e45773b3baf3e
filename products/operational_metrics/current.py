"""The platform's current health, as the dashboard and the Prometheus exporter show it: the
latest SLA evaluation, the latest health snapshot (with the service processes and the disk), the
alert log and its acknowledgements, the run records and the daily costs, read with delta-rs (no
JVM)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from products.operational_metrics import alerts, incidents
from shared_lib import lake
from shared_lib.paths import PLATFORM

PRODUCT = "operational-metrics"


@dataclass
class Current:
    status: pd.DataFrame  # sla_status rows of the latest evaluation
    evaluations: pd.DataFrame  # sla_evaluations rows of the latest evaluation
    freshness: pd.DataFrame  # table_freshness rows of the latest health check
    lag: pd.DataFrame  # consumer_lag rows of the latest health check
    alert_log: pd.DataFrame  # every alerts row
    runs: pd.DataFrame  # platform.pipeline_runs
    processes: pd.DataFrame = field(default_factory=pd.DataFrame)  # process_samples of the latest health check
    disk: pd.DataFrame = field(default_factory=pd.DataFrame)  # disk_usage of the latest health check
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)  # cost_daily, every day
    notebook_costs: pd.DataFrame = field(default_factory=pd.DataFrame)  # cost_by_notebook, every day
    acks: pd.DataFrame = field(default_factory=pd.DataFrame)  # alert_acks

    def open_alerts(self) -> pd.DataFrame:
        rows = alerts.open_alerts(self.alert_log.to_dict("records"))
        return pd.DataFrame(rows, columns=self.alert_log.columns)

    def incidents(self) -> pd.DataFrame:
        """Every fired alert with its state and times (``incidents.incidents``), newest first."""
        acks = self.acks.to_dict("records") if not self.acks.empty else []
        rows = incidents.incidents(self.alert_log.to_dict("records"), acks) if not self.alert_log.empty else []
        return pd.DataFrame(rows, columns=list(incidents.COLUMNS))


def load() -> Current:
    return Current(status=lake.read_latest(PRODUCT, "sla_status", "evaluated_at"),
                   evaluations=lake.read_latest(PRODUCT, "sla_evaluations", "evaluated_at"),
                   freshness=lake.read_latest(PRODUCT, "table_freshness", "evaluated_at"),
                   lag=lake.read_latest(PRODUCT, "consumer_lag", "evaluated_at"),
                   alert_log=lake.read_table(PRODUCT, "alerts"),
                   runs=lake.read_table(PLATFORM, "pipeline_runs"),
                   processes=lake.read_latest(PRODUCT, "process_samples", "sampled_at"),
                   disk=lake.read_latest(PRODUCT, "disk_usage", "sampled_at"),
                   costs=lake.read_table(PRODUCT, "cost_daily"),
                   notebook_costs=lake.read_table(PRODUCT, "cost_by_notebook"),
                   acks=lake.read_table(PRODUCT, "alert_acks"))
