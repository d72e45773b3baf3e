"""How big each benchmark runs: one dataclass, a full and a quick variant, and the explicit
sizes of the command line laid over either."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    events: int  # Kafka -> bronze (`--events`)
    web_events: int  # web bronze -> gold and its DuckDB floor (`--web-events`)
    mobile_events: int  # mobile bronze -> gold and its DuckDB floor (`--mobile-events`)
    compliance_events: int  # compliance bronze -> gold and its DuckDB floor (`--compliance-events`)
    customers: int  # segmentation (`--customers`)
    warm_up_events: int  # the run before each bronze -> gold measurement (`--warm-up-events`, 0: none)
    ours_runs: int  # empty notebooks through the runner, for the median
    baseline_runs: int  # empty notebooks through plain papermill + a local SparkSession
    api_requests: int  # requests of the API and gateway latency benchmarks (50 concurrent clients)
    dag_events: int  # events per product for the whole-DAG benchmarks (the demo's DEMO_EVENTS)

    @classmethod
    def of(cls, quick: bool = False, **given: int | None) -> Sizes:
        """The quick or full sizes with every size in ``given`` that is not None instead (an
        explicit size always wins over ``--quick``); raises ``ValueError`` naming the option of
        a size out of range."""
        unknown = sorted(set(given) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"Sizes has no field(s) {', '.join(unknown)}")
        sizes = dataclasses.replace(QUICK if quick else FULL, **{k: v for k, v in given.items() if v is not None})
        for field in dataclasses.fields(sizes):
            value, may_be_zero = getattr(sizes, field.name), field.name == "warm_up_events"
            if value < 0 or (value == 0 and not may_be_zero):
                raise ValueError(f"{option(field.name)} must be {'>= 0' if may_be_zero else '> 0'}, got {value}")
        return sizes


def option(field: str) -> str:
    """The `dp bench` option of a size: ``web_events`` -> ``--web-events``."""
    return "--" + field.replace("_", "-")


FULL = Sizes(events=200_000, web_events=1_000_000, mobile_events=1_000_000, compliance_events=1_000_000,
             customers=100_000,
             warm_up_events=50_000, ours_runs=5, baseline_runs=3, api_requests=20_000, dag_events=20_000)
QUICK = Sizes(events=20_000, web_events=50_000, mobile_events=50_000, compliance_events=50_000, customers=10_000,
              warm_up_events=5_000, ours_runs=2, baseline_runs=1, api_requests=3_000, dag_events=2_000)
