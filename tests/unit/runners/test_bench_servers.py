"""The bench's HTTP servers: waiting until one answers (or says why not), and its CPU seconds."""
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from runners import services
from runners.bench.servers import cpu_s, stop, wait_until_answers
from runners.bench.workspace import BenchError


@pytest.fixture
def port():
    return services.free_ports(1)[0]


def test_a_server_that_answers_is_waited_for_until_it_does(port, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/", proc, "the file server")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait()


def test_a_server_that_exits_at_start_up_is_named_with_its_exit_code_and_log(port):
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(BenchError) as error:
        wait_until_answers(f"http://127.0.0.1:{port}/health", proc, "the bench's gateway server", Path("/w/g.log"))
    assert str(error.value) == "the bench's gateway server stopped at start-up (exit code 3); see /w/g.log"


def test_a_server_that_never_answers_is_given_up_after_the_timeout(port):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(BenchError) as error:
            wait_until_answers(f"http://127.0.0.1:{port}/health", proc, "the product APIs", timeout_s=1)
    finally:
        proc.kill()
        proc.wait()
    assert str(error.value) == f"the product APIs did not answer http://127.0.0.1:{port}/health within 1 s"


def test_a_server_is_stopped_politely_and_killed_when_it_ignores_the_request():
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(30)"],
                                stdout=subprocess.PIPE)
    assert stubborn.stdout.readline() == b"ready\n"  # SIGTERM is ignored from here on
    stop(polite, timeout_s=10)
    stop(stubborn, timeout_s=0.5)
    assert (polite.returncode, stubborn.returncode) == (-15, -9)


def test_cpu_seconds_are_user_plus_system():
    process = SimpleNamespace(cpu_times=lambda: SimpleNamespace(user=1.5, system=0.25, children_user=9.0))
    assert cpu_s(process) == 1.75
