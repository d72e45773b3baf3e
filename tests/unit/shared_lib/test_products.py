"""What the product declarations say about personal data: the columns tagged `pii` in each
product.yaml, the ones the audit trail names and data-subject requests look in."""
from __future__ import annotations

from shared_lib import products

EVENTS = "web-user-analytics.silver.events"


def test_personal_columns_come_from_the_catalogs_tags():
    found = products.personal_columns_of(products.all_products().values())
    assert found[EVENTS][:2] == ["anonymous_id", "user_id"]
    assert "ip_network" in found[EVENTS] and "page_path" not in found[EVENTS]
    assert "web-user-analytics.gold.daily_kpis" not in found
