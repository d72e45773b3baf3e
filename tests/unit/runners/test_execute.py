"""Which failures the runner retries (a dead kernel or an unreachable service, never a failing
cell), and which cell of the source notebook a cell of the executed one is."""
import pytest

from runners.execute import is_transient, source_position


@pytest.mark.parametrize("ename,evalue,expected", [
    ("DeadKernelError", "Kernel died", True),
    ("KernelStartError", "Kernel didn't respond in 60 seconds", True),
    ("SparkUnavailable", "no Spark Connect server at sc://127.0.0.1:1", True),
    ("NoBrokersAvailable", "NoBrokersAvailable", True),
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
