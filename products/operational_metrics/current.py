"""The platform's current health, as the dashboard and the Prometheus exporter show it: the
latest SLA evaluation, the latest health snapshot, the alert log and the run records, read with
delta-rs (no JVM)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from products.operational_metrics import alerts
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

    def open_alerts(self) -> pd.DataFrame:
        rows = alerts.open_alerts(self.alert_log.to_dict("records"))
        return pd.DataFrame(rows, columns=self.alert_log.columns)


def load() -> Current:
    return Current(status=lake.read_latest(PRODUCT, "sla_status", "evaluated_at"),
                   evaluations=lake.read_latest(PRODUCT, "sla_evaluations", "evaluated_at"),
                   freshness=lake.read_latest(PRODUCT, "table_freshness", "evaluated_at"),
                   lag=lake.read_latest(PRODUCT, "consumer_lag", "evaluated_at"),
                   alert_log=lake.read_table(PRODUCT, "alerts"),
                   runs=lake.read_table(PLATFORM, "pipeline_runs"))
