"""``python -m runners.gateway --host H --port P [--env ENV]``: the gateway in the foreground
(``dp serve`` starts it this way). A malformed gateway variable stops it at once with one line
naming the variable, exit code 2."""
from __future__ import annotations

import argparse
import os
import sys

from shared_lib.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runners.gateway", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--env", help="parameter environment of dp run and the lake (default DP_ENV or dev)")
    args = parser.parse_args(argv)
    try:
        from runners.gateway import server
        app = server.build(os.environ, args.env)
    except UserError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    # No access log: request logs go to ops.requests; uvicorn's lines would cost every request.
    from runners.gateway.app import KEEP_ALIVE_S

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                timeout_keep_alive=KEEP_ALIVE_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
