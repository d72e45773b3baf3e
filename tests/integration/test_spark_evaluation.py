"""How a step's session evaluates expressions: interpreted below the parameter's row count,
compiled (Spark's default) from it on, with the same results either way."""
from __future__ import annotations

import pytest
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from shared_lib import params as params_lib
from shared_lib import spark as spark_lib

KEYS = tuple(spark_lib.INTERPRETED)
pytestmark = pytest.mark.integration


def _settings(spark) -> dict:
    return {key: spark.conf.get(key, None) for key in KEYS}


def test_the_threshold_comes_from_the_platform_parameters():
    assert spark_lib.interpreted_below(params_lib.load("dev", {}, environ={})) == 50_000
    assert spark_lib.interpreted_below(params_lib.load(
        "dev", {"platform.services.spark.interpreted_below_rows": 0}, environ={})) == 0


def test_few_rows_evaluate_interpreted_and_the_session_is_restored_after(spark):
    before = _settings(spark)
    with spark_lib.evaluation_for(spark, rows=200, below=50_000) as interpreted:
        assert interpreted is True
        assert _settings(spark) == {"spark.sql.codegen.wholeStage": "false",
                                    "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
    assert _settings(spark) == before


def test_a_setting_the_session_had_is_put_back_as_it_was(spark):
    spark.conf.set("spark.sql.codegen.wholeStage", "true")
    try:
        with spark_lib.evaluation_for(spark, rows=0, below=1):
            assert spark.conf.get("spark.sql.codegen.wholeStage") == "false"
        assert spark.conf.get("spark.sql.codegen.wholeStage") == "true"
    finally:
        spark.conf.unset("spark.sql.codegen.wholeStage")


def test_as_many_rows_as_the_threshold_or_more_stay_compiled(spark):
    before = _settings(spark)
    # Edge: exactly the threshold is compiled; a threshold of 0 compiles everything, even no rows.
    for rows, below in ((50_000, 50_000), (1_000_000, 50_000), (0, 0)):
        with spark_lib.evaluation_for(spark, rows=rows, below=below) as interpreted:
            assert interpreted is False
            assert _settings(spark) == before


def test_the_same_rows_come_out_interpreted_and_compiled(spark):
    # JSON parsing, variant types, a regex and a window: the kinds of expression silver uses.
    messages = spark.createDataFrame(
        [("a", '{"n": 3, "ts": "2026-12-03T10:00Z"}'), ("a", '{"n": "x"}'), ("b", "not json")], "k string, v string")
    parsed = messages.select(
        "k", F.try_parse_json("v").alias("j"), F.regexp_replace("v", r"(\d{2}:\d{2})Z", "$1:00Z").alias("fixed"))
    result = parsed.select(
        "k", F.schema_of_variant("j").alias("type"), "fixed",
        F.count("*").over(Window.partitionBy("k")).alias("in_k"))
    expected = [("a", "OBJECT<n: BIGINT, ts: STRING>", '{"n": 3, "ts": "2026-12-03T10:00:00Z"}', 2),
                ("a", "OBJECT<n: STRING>", '{"n": "x"}', 2),
                ("b", None, "not json", 1)]
    compiled = sorted(tuple(r) for r in result.collect())
    with spark_lib.evaluation_for(spark, rows=3, below=50_000):
        interpreted = sorted(tuple(r) for r in result.collect())
    assert compiled == interpreted == sorted(expected)
