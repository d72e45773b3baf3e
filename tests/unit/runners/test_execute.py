"""Which failures the runner retries (a dead kernel or an unreachable service, never a failing
cell), how long it waits between attempts, and which cell of the source notebook a cell of the
executed one is."""
import pytest

from runners import execute
from runners.execute import is_transient, source_position


@pytest.mark.parametrize("ename,evalue,expected", [
    ("DeadKernelError", "Kernel died", True),
    ("KernelStartError", "Kernel didn't respond in 60 seconds", True),
    ("SparkUnavailable", "no Spark Connect server at sc://127.0.0.1:1", True),
    ("NoBrokersAvailable", "NoBrokersAvailable", True),
    ("KafkaUnavailable", "KafkaUnavailable: the Kafka broker at 127.0.0.1:1 does not answer", True),
    ("Py4JJavaError", "java.io.IOException: Read-only file system", False),
    ("SparkConnectGrpcException", "<_MultiThreadedRendezvous of RPC that terminated with: status = StatusCode.UNAVAILABLE", True),
    ("SparkConnectGrpcException", "[TABLE_OR_VIEW_NOT_FOUND] The table cannot be found", False),
    ("AssertionError", "AssertionError: Connection refused appears in a message", False),
    ("ValueError", "bad value", False),
    ("AnalysisException", "StatusCode.UNAVAILABLE", False),
])
def test_transient_classification(ename, evalue, expected):
    assert is_transient(ename, evalue) is expected


def cell(tag=None):
    return {"cell_type": "code", "source": "", "metadata": {"tags": [tag] if tag else []}}


# As papermill runs a notebook of 4 cells: its injected parameters after the parameters cell.
EXECUTED = [cell("parameters"), cell("injected-parameters"), cell(), cell(), cell()]


@pytest.mark.parametrize("index,expected", [(0, (1, 4)), (2, (2, 4)), (4, (4, 4)), (1, None), (5, None)])
def test_cells_are_counted_in_the_source_notebook(index, expected):
    assert source_position(EXECUTED, index) == expected


def test_papermills_error_notes_are_not_counted_either():
    failed = [cell("papermill-error-cell-tag"), *EXECUTED[:4], cell("papermill-error-cell-tag"), EXECUTED[4]]
    assert source_position(failed, 6) == (4, 4)


@pytest.mark.parametrize("failed,expected", [(1, 3), (2, 6), (3, 12)])
def test_the_wait_before_a_retry_doubles_with_each_failed_attempt(failed, expected):
    assert execute.backoff_s(3, failed) == expected


def _attempts(monkeypatch, results):
    """``execute`` with attempts that end as ``results`` say; returns the waits it slept."""
    waits = []
    monkeypatch.setattr(execute, "_attempt", lambda *a: results.pop(0))
    monkeypatch.setattr(execute.time, "sleep", waits.append)
    return waits


def test_transient_failures_are_retried_with_backoff_and_kept_as_retried_errors(monkeypatch, tmp_path):
    waits = _attempts(monkeypatch, [("KafkaUnavailable", "KafkaUnavailable: broker down\nmore", 4),
                                    ("DeadKernelError", "DeadKernelError: Kernel died", 4), (None, None, None)])
    outcome = execute.execute(tmp_path / "a.ipynb", tmp_path / "out" / "a.ipynb", {}, retries=2, retry_delay_s=1,
                              log=lambda _: None)
    assert (outcome.status, outcome.attempts, outcome.error) == ("succeeded", 3, None)
    assert outcome.retried == ["KafkaUnavailable: broker down more", "DeadKernelError: Kernel died"]
    assert waits == [1, 2]


def test_a_failing_cell_is_not_retried(monkeypatch, tmp_path):
    waits = _attempts(monkeypatch, [("AssertionError", "AssertionError: 1 != 2", 4)])
    outcome = execute.execute(tmp_path / "a.ipynb", tmp_path / "out" / "a.ipynb", {}, retries=2, log=lambda _: None)
    assert (outcome.status, outcome.attempts, outcome.failing_cell, outcome.retried) == ("failed", 1, 4, [])
    assert waits == []


def test_the_last_transient_failure_is_the_error_once_the_retries_are_spent(monkeypatch, tmp_path):
    waits = _attempts(monkeypatch, [("SparkUnavailable", "SparkUnavailable: first", 3),
                                    ("SparkUnavailable", "SparkUnavailable: second", 3)])
    outcome = execute.execute(tmp_path / "a.ipynb", tmp_path / "out" / "a.ipynb", {}, retries=1, retry_delay_s=5,
                              log=lambda _: None)
    assert (outcome.status, outcome.attempts, outcome.error) == ("failed", 2, "SparkUnavailable: second")
    assert outcome.transient and outcome.retried == ["SparkUnavailable: first"] and waits == [5]


def test_a_retried_error_is_kept_on_one_line_with_its_grpc_status():
    error = "SparkConnectGrpcException: <_MultiThreadedRendezvous of RPC that terminated with:\n\tstatus = " \
            "StatusCode.UNAVAILABLE\n\tdetails = \"failed to connect\""
    assert execute.one_line(error) == ("SparkConnectGrpcException: <_MultiThreadedRendezvous of RPC that terminated "
                                       "with: status = StatusCode.UNAVAILABLE details = \"failed to connect\"")
