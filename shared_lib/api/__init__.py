"""The foundation every HTTP API of the platform is built on (gateway.md): one envelope, one
error shape, pagination, API keys and roles, masking of personal data with its audit, request
logs to ``ops.requests``, and gold tables read with delta-rs behind a version-keyed cache.

- ``app.create_app``: an API with all of the above and ``/health``; ``app.ok`` wraps an answer.
- ``auth.secured(role)``: route keyword arguments that declare and enforce an endpoint's role.
- ``pagination.page``: the ``limit``/``offset`` dependency; ``Page.slice`` and ``meta.page``.
- ``errors.ApiError`` / ``errors.bad_parameter``: refusals in the error shape.
- ``keys.KeyStore``: ``dp keys create|list|revoke``.
"""
