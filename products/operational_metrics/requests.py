"""Request logs: silver enrichment and the hourly gold metrics per service (metrics.md).
Pure functions on DataFrames."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

ERROR_STATUS = 500  # a request is an error when its status_code is 5xx (metrics.md)
PERCENTILES = (0.5, 0.95, 0.99)


def enrich(clean: DataFrame) -> DataFrame:
    """Clean contract rows -> silver request rows: date, hour and the error flag."""
    return (clean.withColumn("event_date", F.to_date("event_ts"))
            .withColumn("event_hour", F.date_trunc("hour", "event_ts"))
            .withColumn("status_code", F.col("status_code").cast("int"))
            .withColumn("is_error", F.col("status_code") >= ERROR_STATUS))


def service_hourly(events: DataFrame) -> DataFrame:
    """Per service x hour: requests, errors, error rate and the continuous (linearly
    interpolated, exact) latency percentiles p50, p95 and p99."""
    # Spark's `percentile` is exact with linear interpolation, like percentile_cont;
    # percentile_approx would not give the metrics.md definition.
    pct = F.percentile("latency_ms", list(PERCENTILES))
    return (events.groupBy(F.col("event_hour").alias("hour"), "service")
            .agg(F.count("*").alias("requests"), F.sum(F.col("is_error").cast("long")).alias("errors"),
                 pct.alias("_p"))
            .select(F.to_date("hour").alias("date"), "hour", "service", "requests", "errors",
                    (F.col("errors") / F.col("requests")).alias("error_rate"),
                    F.col("_p")[0].alias("latency_p50_ms"), F.col("_p")[1].alias("latency_p95_ms"),
                    F.col("_p")[2].alias("latency_p99_ms")))
