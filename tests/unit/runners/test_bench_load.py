"""The load generator's arithmetic, and a short real run against a local server."""
from __future__ import annotations

import pytest

from runners.bench import load


def test_percentiles_are_linearly_interpolated():
    result = load.Load(latencies_ms=[10.0, 20.0, 30.0, 40.0, 50.0])
    # rank (n - 1) * p: p50 -> rank 2 -> 30; p95 -> rank 3.8 -> 40 + 0.8 * 10 = 48
    assert result.percentile(50) == 30.0
    assert result.percentile(95) == pytest.approx(48.0)


def test_errors_are_every_answer_outside_2xx_and_every_lost_connection():
    result = load.Load(latencies_ms=[1.0] * 6, statuses={200: 3, 204: 1, 503: 1, load.TRANSPORT_ERROR: 1})
    assert result.errors == 2


def _server(seen: list[str]):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.path)
            self.send_response(200 if self.path == "/a" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_run_sends_exactly_the_total_over_the_urls_in_turn():
    seen: list[str] = []
    server = _server(seen)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        result = load.run([f"{base}/a", f"{base}/b"], {}, clients=3, total=10)
    finally:
        server.shutdown()
    assert result.requests == 10 and sorted(seen) == ["/a"] * 5 + ["/b"] * 5
    assert result.statuses == {200: 5, 404: 5} and result.errors == 5


def test_clients_pause_between_an_answer_and_their_next_request():
    seen: list[str] = []
    server = _server(seen)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        result = load.run([f"{base}/a"], {}, clients=2, total=6, think_s=0.1)
    finally:
        server.shutdown()
    # each client sends 3 requests with a pause after each: at least 3 x 0.1 s
    assert result.requests == 6 and result.elapsed_s >= 0.3
