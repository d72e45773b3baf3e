"""compliance-auditing in the DAG and the consent seam's default: consent is brought up to date
before web and mobile silver read it, without their being skipped when it fails."""
from runners import dag as dag_lib
from shared_lib import consent
from shared_lib import params as params_lib

CONSENT = "compliance-auditing:silver"


def test_consent_runs_before_web_and_mobile_silver_but_does_not_gate_them():
    dag = dag_lib.build(check_parameters=False)
    for reader in ("web-user-analytics:silver", "mobile-user-analytics:silver"):
        assert dag.order.index(CONSENT) < dag.order.index(reader)
        assert CONSENT in dag.after[reader]
        assert CONSENT not in dag.upstream(reader)  # order only: a failed consent run skips nothing


def test_compliance_notebooks_are_bronze_silver_retention_gold_the_report_then_maintenance():
    dag = dag_lib.build()
    mine = [n for n in dag.order if n.startswith("compliance-auditing:")]
    assert mine == ["compliance-auditing:bronze", "compliance-auditing:silver", "compliance-auditing:retention",
                    "compliance-auditing:gold", "compliance-auditing:report", "compliance-auditing:maintenance"]


def test_retention_gates_nothing():
    dag = dag_lib.build(check_parameters=False)
    assert dag.upstream("compliance-auditing:retention") == set()
    assert not any("compliance-auditing:retention" in dag.upstream(n) for n in dag.nodes)  # order only


class _Ctx:
    def __init__(self, params):
        self.params = params


def test_default_consent_is_a_parameter_granted_unless_set_otherwise():
    assert consent.default_granted(_Ctx(params_lib.load("dev"))) is True
    refused = params_lib.load("dev", {"compliance-auditing.consent.default_granted": False})
    assert consent.default_granted(_Ctx(refused)) is False
    assert consent.default_granted(_Ctx({})) is True  # compliance not installed
