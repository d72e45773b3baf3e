"""``dp bench``: the platform's benchmarks, written to ``reports/bench/bench.json`` and ``bench.md``.

The benchmarks run against their own services in a throw-away workspace (a temp ``DP_HOME`` and
free ports), so a developer's ``dp up`` services and tables are never touched; the services are
stopped and the workspace deleted at the end, whatever happened. Timings on a shared 2-core
machine are noisy; medians and the machine's load are recorded with them.

- ``registry``: the benchmarks by name, and ``main``;
- ``sizes``: how big each benchmark runs (full and ``--quick``);
- ``report``: figures, ``bench.json`` and ``bench.md``;
- ``workspace``: the isolated workspace and what every benchmark gets (``Setup``);
- ``measure``: timer, the Spark server's memory and CPU sampler, the warm-up run;
- ``steps`` and ``reads``: every call into the platform's code, and every read of the lake;
- one module per benchmark: ``overhead``, ``kafka_bronze``, ``bronze_gold`` (every product's
  bronze -> gold, with the same-work DuckDB floors of ``floors`` and the ``crosscheck`` of every
  gold table), ``segmentation`` (with its DuckDB + scikit-learn floor), ``dashboard``.
"""
from runners.bench.registry import main

__all__ = ["main"]
