"""Which failures the runner retries: a dead kernel or an unreachable service, never a failing cell."""
import pytest

from runners.execute import is_transient


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
