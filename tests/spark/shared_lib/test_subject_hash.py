"""Keyed hashes of subject ids: HMAC-SHA256 with the workspace key (the environment's, or a file
created once with mode 0600), the same in Python and in Spark."""








import pytest

from shared_lib import subject_hash


@pytest.mark.integration
def test_spark_column_equals_python_hmac_for_short_and_long_keys(spark):
    from pyspark.sql import functions as F

    df = spark.createDataFrame([("anon-000001",), ("dev-ä€",), (None,)], "s string")
    for key in (b"Jefe", b"k" * 100):
        got = [r[0] for r in df.select(subject_hash.hash_column(F.col("s"), key)).collect()]
        assert got == [subject_hash.hash_id("anon-000001", key), subject_hash.hash_id("dev-ä€", key), None]
