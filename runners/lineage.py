"""OpenLineage run events of ``dp run``: START, then COMPLETE or FAIL, for every notebook it executes.

Built with the ``openlineage-python`` client: the job is ``<product>.<notebook>``, its run carries
the injected parameters (``ExecutionParametersRunFacet``) and the ``dp run`` it belongs to
(``ParentRunFacet``); inputs and outputs are the declared tables it read and wrote (namespace: the
workspace's URI, name: the table's qualified name, with the Delta version as
``DatasetVersionDatasetFacet`` and the declared columns as ``SchemaDatasetFacet``), and for a
bronze notebook the Kafka topics it consumed (namespace ``kafka://host:port``, the end offsets as
version). Events go, one JSON object per line, to ``<workspace>/lineage/events.jsonl``, and to a
Marquez-compatible HTTP endpoint when ``platform.lineage.url`` (or ``DP_LINEAGE_URL``) names one.
An endpoint that does not answer costs a warning, never the run.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from shared_lib import kafka as kafka_lib
from shared_lib import paths
from shared_lib import products as products_lib
from shared_lib.lineage_graph import EVENTS_FILE, events_path, read_events  # noqa: F401  (the file's reader)

logger = logging.getLogger(__name__)

PRODUCER = "https://github.com/dataplatform/dp"  # who wrote the event (OpenLineage asks for a URI)
URL_ENV = "DP_LINEAGE_URL"


def namespace() -> str:
    """Namespace of the jobs and tables of this workspace: its URI."""
    return paths.workspace().as_uri()


def kafka_namespace(params: dict) -> str:
    """OpenLineage's naming for Kafka: ``kafka://{bootstrap host}:{port}``."""
    return f"kafka://{kafka_lib.bootstrap(params)}"


def job_name(product: str, notebook: str) -> str:
    return f"{product}.{notebook}"


def run_uuid(run_id: str, node_id: str | None = None) -> str:
    """The OpenLineage run id (a UUID) of notebook ``node_id`` in ``dp run`` ``run_id``, or of the
    ``dp run`` itself: derived, so that START and COMPLETE name the same run without state."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace()}/{run_id}/{node_id or ''}"))


def _time(epoch: float | None) -> str:
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def _tables_by_name() -> dict[str, products_lib.Table]:
    return {t.qualified_name: t for p in products_lib.all_products().values() for t in p.tables}


def _schema_facet(table: products_lib.Table):
    from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields

    return SchemaDatasetFacet(fields=[SchemaDatasetFacetFields(name=c.name, type=c.type, description=c.comment or None,
                                                               ordinal_position=i)
                                      for i, c in enumerate(table.columns, start=1)])


def _table_dataset(name: str, version: int, declared: dict[str, products_lib.Table], output: bool):
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet

    facets: dict[str, Any] = {"version": DatasetVersionDatasetFacet(datasetVersion=str(version))}
    if name in declared:
        facets["schema"] = _schema_facet(declared[name])
    kind = OutputDataset if output else InputDataset
    return kind(namespace=namespace(), name=name, facets=facets)


def _topic_dataset(params: dict, topic: str, offsets: dict):
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet

    version = ",".join(f"{p}:{o}" for p, o in sorted(offsets.items(), key=lambda kv: int(kv[0])))
    return InputDataset(namespace=kafka_namespace(params), name=topic,
                        facets={"version": DatasetVersionDatasetFacet(datasetVersion=version)})


def run_event(event_type: str, record: dict, params: dict, injected: dict | None = None):
    """The OpenLineage ``RunEvent`` of one notebook run record (``runners.run``'s dict): START
    carries the job and parameters, COMPLETE and FAIL also what was read and written."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
    from openlineage.client.generated.execution_parameters_run import ExecutionParameter, ExecutionParametersRunFacet
    from openlineage.client.generated.job_type_job import JobTypeJobFacet
    from openlineage.client.generated.parent_run import Job as ParentJob
    from openlineage.client.generated.parent_run import ParentRunFacet
    from openlineage.client.generated.parent_run import Run as ParentRun

    node_id = f"{record['product']}:{record['notebook']}"
    injected = injected if injected is not None else json.loads(record.get("parameters") or "{}")
    run_facets: dict[str, Any] = {
        "executionParameters": ExecutionParametersRunFacet(parameters=[
            ExecutionParameter(key=k, value=json.dumps(v, default=str, sort_keys=True))
            for k, v in sorted(injected.items())]),
        "parent": ParentRunFacet(run=ParentRun(runId=run_uuid(record["run_id"])),
                                 job=ParentJob(namespace=namespace(), name="dp-run")),
    }
    inputs, outputs = [], []
    if event_type != "START":
        declared = _tables_by_name()
        for topic, offsets in json.loads(record.get("topic_offsets") or "{}").items():
            inputs.append(_topic_dataset(params, topic, offsets))
        inputs += [_table_dataset(n, v, declared, output=False)
                   for n, v in sorted(json.loads(record.get("tables_read") or "{}").items())]
        outputs = [_table_dataset(n, v, declared, output=True)
                   for n, v in sorted(json.loads(record.get("tables_written") or "{}").items())]
    if event_type == "FAIL":
        run_facets["errorMessage"] = ErrorMessageRunFacet(message=record.get("error") or "failed",
                                                          programmingLanguage="python")
    job = Job(namespace=namespace(), name=job_name(record["product"], record["notebook"]),
              facets={"jobType": JobTypeJobFacet(processingType="BATCH", integration="DP", jobType="NOTEBOOK")})
    when = record.get("started_at") if event_type == "START" else record.get("ended_at")
    return RunEvent(eventType=RunState[event_type], eventTime=_time(when),
                    run=Run(runId=run_uuid(record["run_id"], node_id), facets=run_facets),
                    job=job, inputs=inputs, outputs=outputs, producer=PRODUCER)


def endpoint_url(params: dict) -> str:
    """The HTTP endpoint's base URL, or "" for none: ``DP_LINEAGE_URL``, else ``platform.lineage.url``."""
    return os.environ.get(URL_ENV) or ((params.get("platform") or {}).get("lineage") or {}).get("url") or ""


class Emitter:
    """Sends run events to the workspace's JSON-lines file and, when configured, to HTTP."""

    def __init__(self, params: dict, path: Path | None = None):
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport.file import FileConfig, FileTransport

        self.params = params
        self._lock = threading.Lock()
        self.path = path or events_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(self.path), append=True)))
        self.http = None
        url = endpoint_url(params)
        if url:
            from openlineage.client.transport.http import HttpConfig, HttpTransport

            conf = (params.get("platform") or {}).get("lineage") or {}
            self.http = OpenLineageClient(transport=HttpTransport(HttpConfig(
                url=url, endpoint=conf.get("endpoint", "api/v1/lineage"), timeout=float(conf.get("timeout_s", 5)),
                retry={"total": 0})))

    def emit(self, event_type: str, record: dict, injected: dict | None = None) -> None:
        event = run_event(event_type, record, self.params, injected)
        with self._lock:  # notebooks side by side emit from their own threads: one line at a time
            self.file.emit(event)
        if self.http is not None:
            try:
                self.http.emit(event)
            except Exception as exc:  # lineage is a by-product: an endpoint down never fails a run
                logger.warning("could not send the lineage event to %s: %s: %s", endpoint_url(self.params),
                               type(exc).__name__, exc)
