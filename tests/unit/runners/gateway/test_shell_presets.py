"""The shell presets of `.env.gateway` (bash): each gateway_env_* clears every registry variable
and leaves exactly the environment's own list, which the gateway reads as the env-specific
source with the five products on consecutive ports."""
import json
import subprocess

import pytest

from runners.gateway import registry as reg
from shared_lib import paths

PRESETS = paths.PROJECT_ROOT / ".env.gateway"
REGISTRY_VARS = [reg.GLOBAL_VAR, reg.BY_ENV_VAR, *(reg.env_specific_var(e) for e in reg.ENVIRONMENTS)]


def after(script: str, **environ: str) -> dict[str, str]:
    """The environment variables after ``source .env.gateway; <script>`` in a clean bash."""
    out = subprocess.run(["bash", "-c", f"source {PRESETS} >/dev/null; {script} >/dev/null; env -0"],
                         capture_output=True, env={"PATH": "/usr/bin:/bin", **environ}, check=True).stdout
    return dict(line.split("=", 1) for line in out.decode().split("\0") if "=" in line)


@pytest.mark.parametrize("env", reg.ENVIRONMENTS)
def test_a_preset_leaves_only_its_environments_list(env):
    leftovers = {var: "garbage" for var in REGISTRY_VARS}  # every override, even a malformed one
    environ = after(f"gateway_env_{env}", PLATFORM_ENV="dev", DP_API_PORT="9100", **leftovers)
    assert environ["PLATFORM_ENV"] == env
    assert [v for v in REGISTRY_VARS if v in environ] == [reg.env_specific_var(env)]
    registry = reg.registry(environ, api_port=1)  # the preset's own ports, not the defaults'
    assert (registry.environment, registry.source) == (env, "env_specific")
    host = "127.0.0.1" if env == "dev" else "{name}." + env
    assert registry.services == tuple(reg.Service(name, f"http://{host.format(name=name)}:{9100 + i}")
                                      for i, name in enumerate(reg.PRODUCTS))


def test_show_env_names_every_variable_set_or_not():
    shown = subprocess.run(["bash", "-c", f"source {PRESETS}; gateway_env_staging >/dev/null; gateway_show_env"],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    assert "PLATFORM_ENV=staging" in shown
    assert f"{reg.GLOBAL_VAR} (unset)" in shown
    listed = next(line for line in shown.splitlines() if line.startswith("PLATFORM_PRODUCT_SERVICES_STAGING_JSON="))
    assert json.loads(listed.split("=", 1)[1])[0] == {"name": "web-user-analytics",
                                                      "base_url": "http://web-user-analytics.staging:8002"}
