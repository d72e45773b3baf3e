"""The web event contract (events.md) through ``shared_lib.contract.validate``: every quarantine
reason, the nulling rules, type coercions and timestamp forms, on one tiny bronze DataFrame
validated once."""


from __future__ import annotations

import pytest

from shared_lib import contract


def test_field_spec_rejects_unknown_kind_and_policy():
    with pytest.raises(ValueError, match="unknown kind"):
        contract.Field("x", kind="date")
    with pytest.raises(ValueError, match="on_bad_value"):
        contract.Field("x", on_bad_value="drop")


def test_reason_list_is_the_closed_list_of_events_md():
    assert contract.FIELD_REASONS == ("missing_field", "bad_type", "bad_value")
    assert {contract.TOO_LARGE, contract.MALFORMED_JSON, contract.BAD_TIMESTAMP,
            contract.FUTURE_TIMESTAMP} == {"too_large", "malformed_json", "bad_timestamp", "future_timestamp"}
