"""What a notebook needs, in one call: ``ctx = notebook.open_context(product, notebook, env, run_id, overrides)``.

The context holds the product's declaration, the loaded parameters, the Spark session (created
on first use) and the table writer; ``ctx.finish(**results)`` records the run's lineage and any
small results for the runner, and shows what the step did. With the parameters cell's defaults
it works the same in JupyterLab as under ``dp run``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from shared_lib import maintenance, products, recorder, step_report, storage, tables
from shared_lib import params as params_lib
from shared_lib import spark as spark_lib
from shared_lib.tables import Writer

LINEAGE_RECORD = "dp.lineage"


@dataclass
class Context:
    product: products.Product
    notebook: str
    env: str
    run_id: str
    params: dict
    _writer: Writer | None = field(default=None, repr=False)
    # Tables read_if_exists found absent: the runner reruns this notebook once they exist.
    absent: list[str] = field(default_factory=list)

    @property
    def spark(self):
        return self.writer.spark

    @property
    def writer(self) -> Writer:
        if self._writer is None:
            self._writer = Writer(spark_lib.get_spark(self.params), self.run_id,
                                  compaction=maintenance.Settings.from_params(self.params))
        return self._writer

    @property
    def own(self) -> dict:
        """This product's own parameters."""
        return self.params[self.product.name]

    def table(self, name: str) -> products.Table:
        return self.product.table(name)

    def evaluated_for(self, rows: int):
        """A block in which Spark evaluates the step's expressions instead of compiling them when
        ``rows`` (what the step reads) is below ``services.spark.interpreted_below_rows``
        (``spark.evaluation_for``)."""
        return spark_lib.evaluation_for(self.spark, rows, spark_lib.interpreted_below(self.params))

    def read(self, name: str, product: str | None = None):
        """A declared table at its current version (recorded as read)."""
        table = products.get(product).table(name) if product else self.product.table(name)
        return self.writer.read(table)

    def read_if_exists(self, name: str, product: str | None = None):
        """As ``read``, or None - with a printed note - when the table's product is not installed
        here or no run has written the table yet: for another product's table that this one can
        do without until that product runs."""
        owner = product or self.product.name
        try:
            table = products.get(owner).table(name)
        except KeyError:
            print(f"note: no product {owner} with a table {name!r} is installed: read as empty")
            return None
        if not tables.exists(table):
            self.absent.append(table.qualified_name)
            print(f"note: {table.qualified_name} has no data yet (run {owner} first): read as empty")
            return None
        return self.writer.read(table)

    def finish(self, **results) -> None:
        """Record lineage and ``results`` (small JSON values) for the runner, and show what the
        step did (``step_report``): the last cell of every pipeline notebook."""
        lineage = self.writer.lineage.as_record() if self._writer else {
            "tables_read": {}, "tables_written": {}, "rows_written": 0}
        lineage = {**lineage, "tables_absent": sorted(set(self.absent))}
        recorder.record(LINEAGE_RECORD, lineage)
        for name, value in results.items():
            recorder.record(name, value)
        from IPython.display import display

        rows_by_table = self.writer.lineage.rows_by_table if self._writer else {}
        display(step_report.build(f"{self.product.name} · {self.notebook} · run {self.run_id}",
                                  lineage, rows_by_table, results))


def open_context(product: str, notebook: str, env: str | None = None, run_id: str = "interactive",
                 overrides: dict | str | None = None) -> Context:
    if isinstance(overrides, str):  # papermill may hand a JSON string from the command line
        overrides = json.loads(overrides) if overrides.strip() else {}
    prod = products.get(product)
    prod.notebook(notebook)  # a clear error for a notebook the product does not declare
    loaded = params_lib.load(env, overrides or {})
    storage.configure(loaded)  # every table of this kernel at the lake of these parameters
    return Context(product=prod, notebook=notebook, env=loaded["env"], run_id=run_id or "interactive",
                   params=loaded)
