"""Kafka -> bronze, the same for every product.

``kafka_source`` is the I/O edge (Spark's Kafka source on the product's topic); ``to_bronze`` is
a pure function of the source's DataFrame, so a unit test can call it on a static DataFrame with
the Kafka source's columns. Bronze keeps the raw message and its coordinates and parses nothing:
a parser fix can reprocess all of history.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import kafka as kafka_lib
from shared_lib import paths

# The Kafka source's columns (Spark docs, "Structured Streaming + Kafka Integration").
KAFKA_COLUMNS = ("key", "value", "topic", "partition", "offset", "timestamp", "timestampType")


# Spark reads each Kafka partition in one task: with 3 partitions on 2 cores the third runs
# alone. Each partition's offset range split in two keeps both cores busy, and bronze's files
# (one a task) then spread silver's parse evenly too.
TASKS_PER_KAFKA_PARTITION = 2


def kafka_source(spark, params: dict, topic: str, starting_offsets: str = "earliest",
                 max_offsets_per_trigger: int = 0) -> DataFrame:
    """A streaming read of ``topic``; ``starting_offsets`` applies to the first run only, after
    that the checkpoint remembers where we are."""
    kafka = params["platform"]["services"]["kafka"]
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", kafka_lib.bootstrap(params))
              .option("subscribe", topic)
              .option("startingOffsets", starting_offsets)
              .option("minPartitions", str(TASKS_PER_KAFKA_PARTITION * kafka["partitions"]))
              .option("kafka.max.partition.fetch.bytes", str(kafka["max_message_bytes"])))
    if max_offsets_per_trigger > 0:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


def to_bronze(kafka_df: DataFrame, run_id: str) -> DataFrame:
    """The bronze row of each Kafka message: raw key and value as text, coordinates, ingestion time."""
    ingested_at = F.current_timestamp()
    return kafka_df.select(
        F.col("key").cast("string").alias("key"),
        F.col("value").cast("string").alias("value"),
        F.coalesce(F.octet_length(F.col("value")), F.lit(0)).cast("int").alias("value_bytes"),
        F.col("topic").cast("string").alias("topic"),
        F.col("partition").cast("int").alias("partition"),
        F.col("offset").cast("long").alias("offset"),
        F.col("timestamp").alias("kafka_ts"),
        ingested_at.alias("ingested_at"),
        F.to_date(ingested_at).alias("ingest_date"),
        F.lit(run_id).cast("string").alias("run_id"),
    )


def ingest(ctx, table_name: str = "events_raw") -> int:
    """Ingest everything the product's topics hold now into its bronze table; returns rows added.
    Each event product's ``bronze`` step (``products/<package>/bronze.py``) calls it. Messages
    naming an erased data subject are dropped (``shared_lib.dsar.replay``)."""
    from shared_lib import subject_hash
    from shared_lib.dsar import replay, requests

    table = ctx.product.table(table_name)
    own = ctx.params[ctx.product.name]
    # Several topics (a product whose ``topic`` is a mapping) are one subscription, one table.
    topics = ",".join(kafka_lib.topics_of(ctx.params, ctx.product.name).values())
    kafka_lib.require_broker(ctx.params, topics)
    source = kafka_source(ctx.spark, ctx.params, topics, own["bronze"]["starting_offsets"],
                          own["bronze"]["max_offsets_per_trigger"])
    erased = requests.erased_hashes()
    bronze = replay.without_erased(to_bronze(source, ctx.run_id), erased,
                                   subject_hash.workspace_key() if erased else b"")
    return ctx.writer.append_stream(bronze, table,
                                    paths.checkpoint_path(ctx.product.name, table.name))
