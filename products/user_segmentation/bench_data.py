"""Synthetic silver input for ``dp bench``'s segmentation benchmark: purchases and sessions of
``customers`` logged-in users, written straight into web silver (no Kafka, no bronze: the
benchmark times segmentation alone).

Repeatable (Spark's ``rand`` with fixed seeds over ``range``): every customer has 1-6 orders
and 0-9 sessions in the 180 days before ``SNAPSHOT``; about 2 % of orders are sent twice. Event
ids start with ``segbench-`` and every date is in 2020, so a snapshot of 2021-01-01 counts these
customers only, whatever else the bench's web silver holds.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

SNAPSHOT = dt.date(2021, 1, 1)
DAYS = 180
WEB = "web-user-analytics"


def _complete(df: DataFrame, table) -> DataFrame:
    """``df`` with every declared column of ``table``; the ones it lacks are null."""
    return df.select(*[F.col(c.name) if c.name in df.columns else F.lit(None).cast(c.type).alias(c.name)
                       for c in table.columns])


def purchases(spark, customers: int, table) -> DataFrame:
    start = F.lit(dt.datetime.combine(SNAPSHOT - dt.timedelta(days=DAYS), dt.time()))
    slots = spark.range(customers * 6).select(
        (F.col("id") % customers).alias("n"), (F.floor(F.col("id") / customers) + 1).alias("k"), "id")
    # Customer n has 1 + (n mod 6) orders: slot k in 1..6 is an order while k <= its count.
    orders = slots.where(F.col("k") <= (F.col("n") % 6) + 1)
    seconds = (F.rand(11) * DAYS * 86400).cast("long")
    rows = orders.select(
        F.concat(F.lit("segbench-"), F.col("id").cast("string")).alias("event_id"),
        F.lit("purchase").alias("event_type"),
        (start + F.make_interval(secs=seconds)).alias("event_ts"),
        F.concat(F.lit("segbench-v"), F.col("n").cast("string")).alias("anonymous_id"),
        F.concat(F.lit("segbench-u"), F.col("n").cast("string")).alias("user_id"),
        F.concat(F.lit("segbench-o"), F.col("id").cast("string")).alias("order_id"),
        F.round(F.rand(12) * 295 + 5, 2).alias("revenue"))
    resent = rows.where(F.rand(13) < 0.02).withColumn("event_id", F.concat("event_id", F.lit("-again")))
    return _complete(rows.unionByName(resent).select(
        "*", F.to_date("event_ts").alias("event_date"), F.lit("direct").alias("channel"),
        F.lit("desktop").alias("device_type"), F.lit("USD").alias("currency"), F.lit(False).alias("is_bot"),
        F.lit("web.events").alias("topic"), F.lit(0).alias("partition"), F.lit(0).cast("bigint").alias("offset"),
        F.current_timestamp().alias("ingested_at")), table)


def sessions(spark, customers: int, table) -> DataFrame:
    start = F.lit(dt.datetime.combine(SNAPSHOT - dt.timedelta(days=DAYS), dt.time()))
    slots = spark.range(customers * 9).select((F.col("id") % customers).alias("n"),
                                              (F.floor(F.col("id") / customers) + 1).alias("k"), "id")
    kept = slots.where(F.col("k") <= F.col("n") % 10)
    begin = start + F.make_interval(secs=(F.rand(21) * DAYS * 86400).cast("long"))
    return _complete(kept.select(
        F.concat(F.lit("segbench-s"), F.col("id").cast("string")).alias("session_id"),
        F.concat(F.lit("segbench-v"), F.col("n").cast("string")).alias("anonymous_id"),
        F.concat(F.lit("segbench-u"), F.col("n").cast("string")).alias("user_id"),
        F.to_date(begin).alias("session_date"), begin.alias("session_start"), begin.alias("session_end"),
        F.lit(0.0).alias("duration_s"), F.lit(2).alias("events"), F.lit(2).alias("page_views"),
        (F.rand(22) < 0.6).alias("engaged"), F.lit("direct").alias("channel"), F.lit("desktop").alias("device_type"),
        F.lit(0).alias("purchases"), F.lit(0.0).alias("revenue")), table)
