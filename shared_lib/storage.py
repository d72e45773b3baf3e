"""Where the lake lives (``platform.storage``): a folder of the workspace (the default) or an
S3-compatible bucket, ``s3a://bucket/prefix``.

Every table has one address, ``Table.uri``: a local path for a ``file:`` lake, an ``s3a://`` URI
otherwise. Spark opens it with hadoop-aws (``fs.s3a.*``, ``spark_confs``); delta-rs with
``delta_rs_uri`` and ``delta_rs_options``. Credentials come from environment variables named by
``storage.s3`` (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY by default), never from parameters:
parameters are recorded.

The settings are those of ``configure(params)`` (the notebook context, ``dp``, the APIs call it),
else of the environment's parameter files (``DP_ENV``, ``DP_LAKE_URI``), read once per process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shared_lib import paths
from shared_lib.errors import UserError

S3_SCHEMES = ("s3a://", "s3://")
PARAM = "platform.storage.lake_uri"


class StorageError(UserError, ValueError):
    """A lake URI or S3 setting that cannot be used, or a feature that needs a local lake."""


@dataclass(frozen=True)
class Storage:
    lake_uri: str = ""  # "" or file:/...: a local folder; s3a://bucket/prefix: object storage
    s3: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def on_s3(self) -> bool:
        return self.lake_uri.startswith(S3_SCHEMES)

    def root(self) -> str:
        """The lake's root: a local path (as text) or ``s3a://bucket/prefix`` without a final /."""
        if self.on_s3:
            return "s3a://" + self.lake_uri.split("://", 1)[1].rstrip("/")
        return str(local_root(self.lake_uri))

    def bucket(self) -> str:
        return self.root().removeprefix("s3a://").split("/", 1)[0]


def local_root(lake_uri: str) -> Path:
    """The folder of a ``file:`` lake: ``""`` is the workspace's lake folder."""
    if not lake_uri:
        return paths.lake_dir()
    if lake_uri.startswith("file:"):
        path = lake_uri.removeprefix("file:")
        path = "/" + path.lstrip("/") if path.startswith("//") else path  # file:///x and file:/x
        if not path.startswith("/"):
            raise StorageError(f"parameters platform.yaml: {PARAM} {lake_uri!r} must be an absolute "
                               f"file: URI, e.g. file:///data/lake")
        return Path(path)
    raise StorageError(f"parameters platform.yaml: {PARAM} {lake_uri!r}: expected empty (the workspace's "
                       f"lake folder), file:///absolute/path or s3a://bucket/prefix")


def from_params(params: dict) -> Storage:
    st = params.get("platform", {}).get("storage")
    if st is None:  # a parameter set without platform.yaml (tests): the workspace's lake folder
        return Storage()
    s3 = dict(st["s3"])
    proxy = params["platform"]["services"].get("s3proxy") or {}
    if not s3["endpoint"] and proxy.get("enabled"):  # the S3Proxy of `dp up`
        s3["endpoint"] = f"http://{proxy['host']}:{proxy['port']}"
    result = Storage(st["lake_uri"].strip(), s3)
    if result.on_s3 and not result.bucket():
        raise StorageError(f"parameters platform.yaml: {PARAM} {st['lake_uri']!r} names no bucket: "
                           f"use s3a://bucket/prefix")
    result.root()  # a malformed file: URI fails here, when the parameters are loaded
    return result


_current: Storage | None = None


def configure(params: dict) -> Storage:
    """Use ``params``' storage settings in this process from now on."""
    global _current
    _current = from_params(params)
    return _current


def current() -> Storage:
    """This process's storage settings (see the module's note)."""
    global _current
    if _current is None:
        from shared_lib import params as params_lib
        _current = from_params(params_lib.load())
    return _current


def table_uri(relative: str) -> str:
    """The address of the table at ``relative`` (``product/layer/table``) under the lake's root."""
    return f"{current().root()}/{relative}"


def require_local(feature: str) -> Path:
    """The local lake folder, for a ``feature`` that walks the table's files; a clear error on S3."""
    storage = current()
    if storage.on_s3:
        raise StorageError(f"{feature} works on a local lake only, and {PARAM} is {storage.lake_uri!r} "
                           f"(parameters/<env>/platform.yaml): run it against a file: lake")
    return local_root(storage.lake_uri)


def credentials(s3: dict, environ=None) -> tuple[str, str]:
    """The access key and secret from the environment variables ``s3`` names."""
    environ = os.environ if environ is None else environ
    names = (s3["access_key_env"], s3["secret_key_env"])
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise StorageError(f"the lake is on S3 ({PARAM}) and the environment variable(s) "
                           f"{', '.join(missing)} (platform.storage.s3.access_key_env / secret_key_env) "
                           f"are not set: export the bucket's credentials in them")
    return environ[names[0]], environ[names[1]]


def delta_rs_uri(uri: str) -> str:
    """``uri`` as delta-rs names it: ``s3://`` for S3 (object_store reads s3a too; one spelling)."""
    return "s3://" + uri.split("://", 1)[1] if uri.startswith(S3_SCHEMES) else uri


def delta_rs_options(storage: Storage | None = None, environ=None) -> dict[str, str] | None:
    """delta-rs ``storage_options`` for the lake; None for a local lake."""
    storage = storage or current()
    if not storage.on_s3:
        return None
    s3 = storage.s3
    key, secret = credentials(s3, environ)
    options = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": s3["region"],
               "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false" if s3["path_style"] else "true"}
    if s3["endpoint"]:
        options["AWS_ENDPOINT_URL"] = s3["endpoint"]
        options["AWS_ALLOW_HTTP"] = "true" if s3["endpoint"].startswith("http://") else "false"
    if s3["conditional_put"]:
        options["aws_conditional_put"] = s3["conditional_put"]
    else:
        # No lock service: delta-rs commits by copy-if-absent emulation; safe for one writer at a time.
        options["AWS_S3_ALLOW_UNSAFE_RENAME"] = "true"
    return options


def spark_confs(storage: Storage) -> dict[str, str]:
    """hadoop-aws settings for an S3 lake (none for a local one); credentials are not among them:
    S3A reads them from the environment (``spark_environment``)."""
    if not storage.on_s3:
        return {}
    s3 = storage.s3
    confs = {"spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
             "spark.hadoop.fs.s3a.path.style.access": str(bool(s3["path_style"])).lower(),
             "spark.hadoop.fs.s3a.endpoint.region": s3["region"],
             "spark.hadoop.fs.s3a.aws.credentials.provider":
                 "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"}
    if s3["endpoint"]:
        confs["spark.hadoop.fs.s3a.endpoint"] = s3["endpoint"]
        confs["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(s3["endpoint"].startswith("https://")).lower()
    return confs


def spark_environment(storage: Storage, environ=None) -> dict[str, str]:
    """The environment variables that give a Spark process the lake's credentials (S3A's
    environment provider reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)."""
    if not storage.on_s3:
        return {}
    key, secret = credentials(storage.s3, environ)
    return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
