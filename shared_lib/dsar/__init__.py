"""Data-subject requests (`dp dsar`, metrics.md "Erasure" and "Access request").

- ``scope``: what each declared table can hold about a subject, from the pii tags of product.yaml
  (``subject_id`` columns, ``raw`` messages, a ``subject_hash`` column).
- ``match``: pure functions that find a subject's rows (ids in columns, ids as tokens of raw text).
- ``identity``: the ids linked to a requested id (web cookies and mobile devices seen with it).
- ``requests``: the compliance product's ``dsar_requests`` and ``erasure_log`` tables.
- ``access`` and ``erase``: the two commands; ``purge``: history (old files, the Delta log,
  checkpoints, reports) after an erasure; ``replay``: the bronze filter of erased subjects.

Everything here reads and writes with delta-rs: no Spark server is needed.
"""
