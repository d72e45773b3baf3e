"""The gateway as ``dp serve`` runs it: the configuration of this process's environment, the
product APIs' default ports from the parameters, the workspace's API keys, request logs and
audit events to Kafka, and the platform API beside the proxy."""
from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI

from runners.gateway import app as gateway_app
from runners.gateway import platform_api, registry
from shared_lib import params as params_lib
from shared_lib.api.context import ApiContext
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks


def api_port(params: dict) -> int:
    """The first product API's port (``DP_API_PORT`` / ``platform.serve.api_port``)."""
    return int(params_lib.get(params, "platform.serve.api_port"))


def check(environ: Mapping[str, str], params: dict) -> registry.GatewayConfig:
    """The gateway's configuration, or the ``GatewayConfigError`` that would stop it."""
    return registry.config(environ, api_port(params))


def build(environ: Mapping[str, str], env: str | None = None) -> FastAPI:
    params = params_lib.load(env)
    config = check(environ, params)
    context = ApiContext(service=gateway_app.GATEWAY_NAME, product="platform", params=params, keys=KeyStore(),
                         sinks=Sinks.kafka(params))
    return gateway_app.create_app(config, routers=(platform_api.platform_router(),), context=context)
