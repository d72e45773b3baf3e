"""Same-work floors for `dp bench`: one module per product doing the pipeline's work in one
DuckDB process (and scikit-learn for k-means) - contract and quarantine, duplicates, sessions,
silver and gold tables written as Parquet. Each has ``run(...)`` returning its gold tables' rows,
``GOLD_KEYS`` ({table: key columns}, what ``crosscheck`` compares) and ``TOLERANCES``. Not a
second implementation for the products: a measure of how fast one process does the same work,
and an independent check of gold."""
