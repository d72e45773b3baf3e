"""The API gateway (``dp serve``): the product APIs' registry by environment, their health, a
proxy to them, and the platform API under ``/platform/``.

- ``registry``: the configuration from environment variables, as pure functions;
- ``app``: the gateway's endpoints and the proxy (``create_app``);
- ``errors``: the one error shape and the request id;
- ``__main__``: ``python -m runners.gateway --host H --port P`` (what ``dp serve`` starts).
"""
