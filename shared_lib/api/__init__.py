"""The foundation every HTTP API of the platform is built on (gateway.md, docs/api.md): one
envelope, one error shape, pagination, API keys and roles, masking of personal data with its
audit, request logs to ``ops.requests``, and tables read with delta-rs behind a version-keyed
cache.

- ``app``: ``create_app`` (an API with all of the below and ``/health``), ``ok`` (the success
  envelope), ``cached`` (an answer kept until a table it read changes version);
- ``envelope``: the response models and the error body; ``errors``: ``ApiError``,
  ``bad_parameter``, the exception handlers (a validation error is a 400 naming the field);
- ``middleware``: request id, request log, last-resort 500 (pure ASGI);
- ``keys``: the hashed key store behind ``dp keys``; ``roles``: the ladder, the auditor and the
  personal-data grant; ``auth``: ``secured(role)`` for a route, ``principal``, audited refusals;
- ``privacy``: masking, ``X-Purpose`` and the audit of personal-data reads;
- ``gold``: ``TableCache``, table versions, rows as JSON-ready records and their response models;
- ``pagination`` and ``query``: ``limit``/``offset`` and date ranges;
- ``sinks``: request logs and audit events sent in batches by a background thread;
- ``context``: what the requests of one API share.
"""
