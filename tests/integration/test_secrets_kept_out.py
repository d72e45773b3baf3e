"""Secrets reach the notebooks that use them through environment variables and nowhere else: a
real run of a notebook that reads the alert webhook URL (and posts to it, failing) and hashes a
subject id with the workspace's hash key leaves neither in any file written under the workspace
or reports/ (run.json, the run log, the executed notebook, its HTML)."""
import os
from pathlib import Path

import pytest

from runners import run as run_lib
from shared_lib import params as params_lib
from shared_lib import paths
from tests import factories

pytestmark = pytest.mark.integration

# Port 1 refuses: the post fails, and its error is logged and printed in the notebook.
WEBHOOK = "http://127.0.0.1:1/hooks/T0-webhook-token-9f3c2a71"
HASH_KEY = "hash-key-5e1d0b7c48a2"

USES_THE_SECRETS = [
    "from shared_lib import params, subject_hash\n"
    "from products.operational_metrics import notify\n"
    "p = params.load(env, overrides)\n"
    "url = params.get(p, 'operational-metrics.alerts.webhook_url')\n"
    "assert url.startswith('http://127.0.0.1:1/'), 'the secret did not reach the notebook'\n"
    "print(notify.notify([{'event': 'fired', 'message': 'freshness breached'}], url, 1.0, print))",
    "import os\n"
    "print(subject_hash.hash_id('user-1', subject_hash.workspace_key()))\n"
    "assert subject_hash.workspace_key() == os.environ['DP_HASH_KEY'].encode()",
]


def written_files(*roots: Path) -> list[Path]:
    return sorted({f for root in roots if root.exists() for f in root.rglob("*") if f.is_file()})


def test_secrets_from_the_environment_appear_in_no_file_written(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_ALERT_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setenv("DP_HASH_KEY", HASH_KEY)
    declared = {"secrets-demo": factories.declare(tmp_path, "secrets-demo", [("alerting", [], USES_THE_SECRETS, None)])}
    summary = run_lib.run(declared=declared, run_id="test-secrets", overrides=["platform.runner.retries=0"])
    assert [r["status"] for r in summary.records] == ["succeeded"], summary.records[0].get("error")
    reports = paths.run_reports_dir("test-secrets")
    assert (reports / "run.json").exists() and list(reports.rglob("*.html"))
    files = written_files(paths.workspace(), Path(os.environ["DP_REPORTS"]))
    assert len(files) >= 3  # run.json, the executed notebook and its HTML at least
    for secret in (WEBHOOK, "T0-webhook-token-9f3c2a71", HASH_KEY):
        leaked = [str(f) for f in files if secret.encode() in f.read_bytes()]
        assert leaked == [], f"{secret!r} written to {leaked}"
    # the notebook did post (and say so), without the URL
    assert b"webhook failed" in (reports / "secrets-demo" / "alerting.ipynb").read_bytes()


def test_a_secret_given_on_the_command_line_is_refused_before_any_kernel_starts(tmp_path):
    declared = {"secrets-demo": factories.declare(tmp_path, "secrets-demo", [("alerting", [], ["raise SystemExit"], None)])}
    with pytest.raises(params_lib.ParameterError, match="DP_ALERT_WEBHOOK_URL"):
        run_lib.run(declared=declared, run_id="test-secrets-refused",
                    overrides=[f"operational-metrics.alerts.webhook_url={WEBHOOK}"])
    assert not paths.run_reports_dir("test-secrets-refused").exists()
