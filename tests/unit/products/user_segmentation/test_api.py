"""The segmentation API on small hand-written Delta tables: profiles, customers of a segment with
masking, one customer's history, and classification against the latest snapshot's quintiles."""
from __future__ import annotations

import pytest

from products.user_segmentation import api as seg_api
from tests import api_client, api_data

P = "user-segmentation"


@pytest.fixture
def seg(tmp_path, monkeypatch):
    client = api_client.api(seg_api.create_app, tmp_path, monkeypatch)
    api_data.write_segmentation()
    return client


def test_segment_profiles_of_the_latest_snapshot_in_grid_order(seg):
    rows = seg.get("/segments", "viewer").json()["data"]
    assert [(r["snapshot_date"], r["segment"], r["customers"]) for r in rows] == [
        ("2024-03-01", "Champions", 1), ("2024-03-01", "Hibernating", 2)]


def test_an_earlier_snapshot_on_request_and_a_missing_one_is_a_404_naming_the_latest(seg):
    assert [r["segment"] for r in seg.get("/segments?snapshot_date=2024-02-01", "viewer").json()["data"]] == ["At Risk"]
    resp = seg.get("/segments?snapshot_date=2024-01-01", "viewer")
    assert resp.status_code == 404 and "2024-03-01" in resp.json()["error"]["message"]


def test_a_segments_customers_biggest_spender_first_masked_for_a_viewer(seg):
    rows = seg.get("/segments/Hibernating/customers", "viewer").json()["data"]
    assert [(r["user_id"], r["monetary"], r["rfm"]) for r in rows] == [("***", 20.0, "222"), ("***", 10.0, "111")]
    assert seg.sinks.audits == []


def test_a_segments_customers_unmasked_for_an_analyst_with_a_purpose_and_audited(seg):
    rows = seg.get("/segments/Hibernating/customers?limit=1", "analyst", purpose="marketing").json()["data"]
    assert [r["user_id"] for r in rows] == ["u4"]
    [audit] = seg.sinks.audits
    assert (audit["columns"], audit["purpose"], audit["result"]) == (["user_id"], "marketing", "success")


def test_an_unknown_segment_is_a_404(seg):
    assert seg.get("/segments/Whales/customers", "viewer").status_code == 404


def test_one_customers_history_newest_first(seg):
    rows = seg.get("/customers/u1", "auditor", purpose="legal").json()["data"]
    assert [(r["snapshot_date"], r["segment"]) for r in rows] == [("2024-03-01", "Champions"), ("2024-02-01", "At Risk")]
    assert seg.sinks.audits[0]["subject_id"] == "u1"
    assert seg.get("/customers/nobody", "analyst", purpose="support").status_code == 404
    assert seg.get("/customers/u1", "viewer").status_code == 403


def test_the_at_risk_list_riskiest_first_for_an_analyst_with_a_purpose_and_audited(seg):
    rows = seg.get("/at-risk", "analyst", purpose="marketing").json()["data"]
    # the latest snapshot (S2): u1 is Low there, so only u5 (0.91) then u4 (0.72)
    assert [(r["user_id"], r["churn_risk"], r["segment"]) for r in rows] == [("u5", 0.91, "Hibernating"),
                                                                           ("u4", 0.72, "Hibernating")]
    [audit] = seg.sinks.audits
    assert (audit["columns"], audit["purpose"], audit["result"]) == (["user_id"], "marketing", "success")
    low = seg.get("/at-risk?level=Low", "analyst", purpose="marketing").json()["data"]
    assert [r["user_id"] for r in low] == ["u1"]
    earlier = seg.get("/at-risk?snapshot_date=2024-02-01", "auditor", purpose="legal").json()["data"]
    assert [(r["user_id"], r["churn_risk"]) for r in earlier] == [("u1", 0.75)]


def test_the_at_risk_list_is_refused_to_a_viewer_and_without_a_purpose(seg):
    assert seg.get("/at-risk", "viewer").status_code == 403
    assert seg.get("/at-risk", "analyst").status_code == 400  # personal data needs X-Purpose
    assert seg.get("/at-risk?level=Critical", "analyst", purpose="marketing").status_code == 400


@pytest.mark.parametrize("values,expected", [
    # recency 2 is in quintile 2 -> R 4; frequency 5 -> F 5; monetary 35 <= 40 -> M 4
    ({"recency_days": 2, "frequency": 5, "monetary": 35}, (4, 5, 4, "454", "Loyal Customers")),
    # beyond every boundary: recency quintile 5 -> R 1; frequency and monetary quintile 5
    ({"recency_days": 90, "frequency": 100, "monetary": 1e6}, (1, 5, 5, "155", "Can't Lose Them")),
    # zero everything: recency quintile 1 -> R 5, F 1, M 1
    ({"recency_days": 0, "frequency": 0, "monetary": 0}, (5, 1, 1, "511", "New Customers")),
])
def test_classify_scores_values_against_the_latest_snapshots_quintiles(seg, values, expected):
    data = seg.post("/classify", values, "viewer").json()["data"]
    assert (data["r"], data["f"], data["m"], data["rfm"], data["segment"]) == expected
    assert data["snapshot_date"] == "2024-03-01"
    assert data["boundaries"] == {"recency_days": [1, 2, 3, 4, 5], "frequency": [1, 2, 3, 4, 5],
                                  "monetary": [10, 20, 30, 40, 50]}


def test_classify_refuses_a_negative_value_naming_it(seg):
    resp = seg.post("/classify", {"recency_days": -1, "frequency": 1, "monetary": 1}, "viewer")
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "body.recency_days"


def test_quintile_takes_the_lower_of_two_quintiles_sharing_a_boundary():
    assert seg_api.quintile(3, [1, 3, 3, 4, 5]) == 2
    assert seg_api.quintile(3.5, [1, 3, 3, 4, 5]) == 4


def test_movement_into_the_latest_snapshot_new_customers_first(seg):
    rows = seg.get("/segments/movement", "viewer").json()["data"]
    assert [(r["from_segment"], r["to_segment"], r["customers"]) for r in rows] == [
        (None, "Hibernating", 2), (None, "Loyal Customers", 1), (None, "Need Attention", 1), ("At Risk", "Champions", 1)]


def test_cluster_profiles_of_the_latest_snapshot_by_cluster_number(seg):
    rows = seg.get("/clusters", "viewer").json()["data"]
    assert [(r["cluster"], r["customers"], r["description"]) for r in rows] == [(0, 2, "big spenders"), (1, 3, "low spenders")]
