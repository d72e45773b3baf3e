"""Kafka -> bronze, the same for every product.

``kafka_source`` is the I/O edge (Spark's Kafka source on the product's topic); ``to_bronze`` is
a pure function of the source's DataFrame, so a unit test can call it on a static DataFrame with
the Kafka source's columns. Bronze keeps the raw message and its coordinates and parses nothing:
a parser fix can reprocess all of history.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import kafka as kafka_lib
from shared_lib import paths

logger = logging.getLogger(__name__)

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
    partitions = max(kafka_lib.topic_settings(params, t)["partitions"] for t in topic.split(","))
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", kafka_lib.bootstrap(params))
              .option("subscribe", topic)
              .option("startingOffsets", starting_offsets)
              .option("minPartitions", str(TASKS_PER_KAFKA_PARTITION * partitions))
              .option("kafka.max.partition.fetch.bytes", str(kafka["max_message_bytes"])))
    if max_offsets_per_trigger > 0:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


def to_bronze(kafka_df: DataFrame, run_id: str) -> DataFrame:
    """The bronze row of each Kafka message: raw key and value as text, coordinates, ingestion time.
    Bytes that are not UTF-8 become U+FFFD: a cast alone keeps them, and every Arrow reader of the
    table (delta-rs, the APIs, a DSAR) then fails on the string column; ``value_bytes`` keeps the size sent."""
    ingested_at = F.current_timestamp()
    return kafka_df.select(
        F.make_valid_utf8(F.col("key").cast("string")).alias("key"),
        F.make_valid_utf8(F.col("value").cast("string")).alias("value"),
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
    checkpoint = paths.checkpoint_path(ctx.product.name, table.name)
    starting = resume_point(ctx, table, checkpoint, topics.split(","), own["bronze"]["starting_offsets"])
    source = kafka_source(ctx.spark, ctx.params, topics, starting, own["bronze"]["max_offsets_per_trigger"])
    erased = requests.erased_hashes()
    bronze = replay.without_erased(to_bronze(source, ctx.run_id), erased,
                                   subject_hash.workspace_key() if erased else b"")
    return ctx.writer.append_stream(bronze, table, checkpoint)


def _has_checkpoint(checkpoint: Path) -> bool:
    return (checkpoint / "offsets").is_dir() and any((checkpoint / "offsets").iterdir())


def resume_point(ctx, table, checkpoint: Path, topics: list[str], starting_offsets: str) -> str:
    """Where bronze's stream starts when its checkpoint and its table disagree (disaster recovery):
    a checkpoint without its table (the lake was lost) is removed and the table rebuilt from the
    topics' start; a table without its checkpoint (the checkpoints were lost) resumes after the
    newest offset the table holds per partition, so nothing is ingested twice. Otherwise
    ``starting_offsets``, which only a first run uses (then the checkpoint knows)."""
    from shared_lib import tables

    has_table = tables.exists(table)
    if _has_checkpoint(checkpoint) and not has_table:
        logger.warning("%s is missing but its checkpoint %s exists: removing the checkpoint, rebuilding "
                       "the table from the start of %s", table.qualified_name, checkpoint, ", ".join(topics))
        shutil.rmtree(checkpoint)
        return starting_offsets
    if has_table and not _has_checkpoint(checkpoint):
        held = {(r["topic"], r["partition"]): r["last"] for r in ctx.writer.read(table).groupBy("topic", "partition")
                .agg(F.max("offset").alias("last")).collect()}
        if held:
            logger.warning("%s has no checkpoint: resuming after the offsets the table holds", table.qualified_name)
            return json.dumps(resume_offsets(held, {t: kafka_lib.end_offsets(ctx.params, t) for t in topics}))
    return starting_offsets


def resume_offsets(held: dict[tuple[str, int], int], partitions: dict[str, dict[int, int]]) -> dict:
    """Spark's ``startingOffsets`` JSON for every partition of ``partitions`` ({topic: {partition: end}}):
    the offset after the newest one ``held`` ({(topic, partition): offset}), -2 (earliest) for a
    partition the table holds nothing of."""
    return {topic: {str(p): held[(topic, p)] + 1 if (topic, p) in held else -2 for p in sorted(ends)}
            for topic, ends in partitions.items()}
