"""Real HTTP servers for tests: an ASGI app under uvicorn on a free port of 127.0.0.1, in a
thread of the test process, stopped on the way out; and a small upstream app to stand for a
product API (health, echo, slow, failing answers)."""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from runners.services import free_ports


@contextlib.contextmanager
def serving(app, start_timeout_s: float = 10.0, port: int | None = None):
    """``app`` served by uvicorn on ``port`` (default: a free one); yields its base URL."""
    # A port found free may be taken before uvicorn binds it (a browser's or a kernel's socket):
    # a free port of our choosing is tried again with another, a given one is not.
    for _attempt in range(1 if port else 3):
        chosen = port or free_ports(1)[0]
        server, thread = _started(app, chosen, start_timeout_s)
        if server is not None:
            break
    else:
        raise RuntimeError(f"test server on port {chosen} did not start")
    assert server is not None and thread is not None
    try:
        yield f"http://127.0.0.1:{chosen}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _started(app, port: int, start_timeout_s: float):
    """(server, thread) once uvicorn listens on ``port``; (None, None) when it could not bind."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive():
            return None, None
        if time.monotonic() > deadline:
            raise RuntimeError(f"test server on port {port} did not start within {start_timeout_s} s")
        time.sleep(0.02)
    return server, thread


def upstream_app(health_status: int = 200, health_delay_s: float = 0.0) -> FastAPI:
    """A stand-in product API: ``/health`` (its status and delay as given), ``/echo/...`` (what
    it received, as JSON; ``?status=`` sets the answer's status), ``/slow?seconds=``, ``/text``."""
    app = FastAPI()
    app.state.calls = 0

    @app.get("/health")
    async def health():
        await asyncio.sleep(health_delay_s)
        return JSONResponse({"status": "ok" if health_status < 400 else "failing"}, status_code=health_status)

    @app.api_route("/echo/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request):
        app.state.calls += 1
        status = int(request.query_params.get("status", 200))
        return JSONResponse({"method": request.method, "path": path, "query": request.url.query,
                             "headers": dict(request.headers), "body": (await request.body()).decode()},
                            status_code=status)

    @app.get("/slow")
    async def slow(seconds: float = 1.0):
        await asyncio.sleep(seconds)
        return {"slept": seconds}

    @app.get("/text")
    async def text():
        return PlainTextResponse("short and stout", status_code=418)

    @app.get("/empty")
    async def empty():
        return Response(status_code=204)

    return app
