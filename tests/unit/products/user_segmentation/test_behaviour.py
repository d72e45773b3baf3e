"""Churn and tag thresholds from the parameters: defaults, overrides, and errors that name the
parameter."""
import pytest

from products.user_segmentation import behaviour, features


def test_thresholds_from_parameters_checked():
    t = behaviour.thresholds({"churn": {"at_risk": 0.8}, "tags": {"value": {"high": 5000, "medium": 100}}})
    assert (t.at_risk, t.medium_risk, t.value_high, t.value_medium) == (0.8, 0.4, 5000, 100)
    with pytest.raises(ValueError, match=r"churn.medium \(0.9\) must not be above churn.at_risk \(0.7\)"):
        behaviour.thresholds({"churn": {"medium": 0.9}})
    with pytest.raises(ValueError, match="new_days must be a number"):
        behaviour.thresholds({"tags": {"lifecycle": {"new_days": "thirty"}}})


def test_active_days_parameter_checked():
    assert features.active_days({}) == 90 and features.active_days({"features": {"active_days": 30}}) == 30
    with pytest.raises(ValueError, match="active_days must be a whole number"):
        features.active_days({"features": {"active_days": "ninety"}})
