"""The user-segmentation dashboard (``notebooks/dashboards/user-segmentation.ipynb``): the gold
tables in, a page of widgets out, for one snapshot date at a time (the latest by default).

Every number is read from gold as computed there: sizes, shares and averages per segment
(``segment_profiles``), the R x F grid (``rfm_grid``), the movement into the snapshot
(``segment_movement``) and the clusters (``cluster_profiles``). The customer lookup reads one
customer's rows only.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from shared_lib import dashboard as ui
from shared_lib import lake
from shared_lib.dashboard import Kpi

PRODUCT = "user-segmentation"
NEW, GONE = "(new customer)", "(no longer a customer)"

KPIS = (
    Kpi("customers", "Customers", "count", note="bought before the snapshot date"),
    Kpi("revenue", "Revenue", "money", note="all their orders"),
    Kpi("revenue_per_customer", "Revenue per customer", "money"),
    Kpi("orders_per_customer", "Orders per customer", "ratio"),
)


@dataclass
class Gold:
    profiles: pd.DataFrame
    grid: pd.DataFrame
    movement: pd.DataFrame
    clusters: pd.DataFrame
    churn: pd.DataFrame
    tags: pd.DataFrame


GOLD_TABLES = ("segment_profiles", "rfm_grid", "segment_movement", "cluster_profiles", "churn_distribution",
               "tag_counts")
AT_RISK_ROWS = 20
TAG_LABELS = {"churn_risk_level": "Churn risk", "engagement_level": "Engagement", "purchase_pattern": "Purchase pattern",
              "value_tier": "Value", "lifecycle_stage": "Lifecycle"}
TAG_ORDER = {"churn_risk_level": ("High", "Medium", "Low"), "engagement_level": ("High", "Medium", "Low"),
             "purchase_pattern": ("Repeater", "Occasional", "One-time"), "value_tier": ("High", "Medium", "Low"),
             "lifecycle_stage": ("New", "Growing", "Established", "Dormant")}


def load() -> Gold:
    return Gold(*(lake.read_table(PRODUCT, table) for table in GOLD_TABLES))


# --- numbers (pure) ------------------------------------------------------------------------


def snapshots(profiles: pd.DataFrame) -> list:
    """Snapshot dates with segment profiles, latest first."""
    return sorted(set(profiles["snapshot_date"]), reverse=True)


def at(df: pd.DataFrame, snapshot, column: str = "snapshot_date") -> pd.DataFrame:
    return df[df[column] == snapshot]


def totals(profiles: pd.DataFrame) -> dict:
    """The cards of one snapshot's ``segment_profiles`` rows (None when it has no customers)."""
    customers = float(profiles["customers"].sum())
    revenue = float(profiles["revenue"].sum())
    orders = float((profiles["avg_frequency"].astype(float).fillna(0) * profiles["customers"]).sum())
    if not customers:
        return {"customers": None, "revenue": None, "revenue_per_customer": None, "orders_per_customer": None}
    return {"customers": customers, "revenue": revenue, "revenue_per_customer": revenue / customers,
            "orders_per_customer": orders / customers}


def grid_matrix(grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers per cell of one snapshot's R x F grid - R 5 on top, F 1 on the left - and the
    cells' segments."""
    def pivot(values: str) -> pd.DataFrame:
        return (grid.pivot(index="r", columns="f", values=values)
                .reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5]))

    return pivot("customers").fillna(0).astype(int), pivot("segment")


def movement_matrix(movement: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Customers from segment (rows) to segment (columns) of one pair of snapshots, segments in
    ``order``; customers new since the earlier snapshot in the last row, gone ones in the last column."""
    df = movement.assign(from_segment=movement["from_segment"].fillna(NEW),
                         to_segment=movement["to_segment"].fillna(GONE))
    table = df.pivot_table(index="from_segment", columns="to_segment", values="customers", aggfunc="sum")
    return table.reindex(index=[*order, NEW], columns=[*order, GONE]).fillna(0).astype(int)


def customer_history(segments: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """One customer's snapshots, latest first: segment, scores, values and cluster."""
    columns = ["snapshot_date", "segment", "rfm", "recency_days", "frequency", "monetary"]
    merged = segments[columns].merge(clusters[["snapshot_date", "cluster"]], on="snapshot_date", how="left")
    return merged.sort_values("snapshot_date", ascending=False, ignore_index=True)


def risk_matrix(churn: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Customers per segment (rows, in ``order``) and churn-risk band (columns "0.0-0.1" ...
    "0.9-1.0") of one snapshot; empty cells 0."""
    labels = [f"{b / 10:.1f}-{(b + 1) / 10:.1f}" for b in range(10)]
    table = churn.pivot_table(index="segment", columns="band", values="customers", aggfunc="sum")
    table = table.reindex(index=order, columns=range(10)).fillna(0).astype(int)
    table.columns = labels
    return table


def tag_table(tags: pd.DataFrame) -> pd.DataFrame:
    """One snapshot's tag counts: tag, value, customers and share of the snapshot's customers, tags
    and values in their defined order."""
    rows = []
    for tag, values in TAG_ORDER.items():
        of_tag = tags[tags["tag"] == tag]
        total = float(of_tag["customers"].sum())
        for value in values:
            n = float(of_tag.loc[of_tag["value"] == value, "customers"].sum())
            rows.append({"tag": TAG_LABELS[tag], "value": value, "customers": n, "share": n / total if total else None})
    return pd.DataFrame(rows)


def at_risk(snapshot, limit: int = AT_RISK_ROWS) -> pd.DataFrame:
    """The riskiest customers of level High at ``snapshot`` (personal data: read for the
    snapshot's partition and level only)."""
    rows = lake.read_table(PRODUCT, "customer_behaviour",
                           filters=[("snapshot_date", "=", snapshot), ("churn_risk_level", "=", "High")])
    return rows.sort_values(["churn_risk", "user_id"], ascending=[False, True], ignore_index=True).head(limit)


# --- the page ------------------------------------------------------------------------------

NO_DATA_HINT = ui.build_hint("user-segmentation has no segments yet. It needs purchases of logged-in users in "
                             "web or mobile silver:", "web-user-analytics")
PROFILE_FORMATS = {"customers": "count", "share": "rate", "avg recency (days)": "ratio",
                   "avg orders": "ratio", "avg revenue": "money", "avg R": "ratio", "avg F": "ratio",
                   "avg M": "ratio", "revenue share": "rate"}
CLUSTER_FORMATS = {"customers": "count", "share": "rate", "revenue share": "rate"}


def _cards(gold: Gold, snapshot, previous):
    current = totals(at(gold.profiles, snapshot))
    before = totals(at(gold.profiles, previous)) if previous is not None else {}
    return ui.kpi_cards(KPIS, current, before,
                        compared_with=f"snapshot {previous}" if previous is not None else "no earlier snapshot")


def _segments(profiles: pd.DataFrame):
    rows = profiles.sort_values("segment_order")
    sizes = ui.bar_chart(rows.iloc[::-1], "segment", "customers", "Customers per segment",
                         hover={"customer_share": "rate", "revenue_share": "rate"})
    revenue = ui.bar_chart(rows.iloc[::-1], "segment", "revenue_share", "Share of revenue per segment",
                           value_kind="rate", hover={"revenue": "money", "customers": "count"})
    for fig in (sizes, revenue):  # segments in the order of metrics.md, not by size
        fig.update_yaxes(categoryorder="array", categoryarray=list(rows["segment"])[::-1])
    table = rows.rename(columns={
        "customer_share": "share", "avg_recency_days": "avg recency (days)", "avg_frequency": "avg orders",
        "avg_monetary": "avg revenue", "avg_r": "avg R", "avg_f": "avg F", "avg_m": "avg M",
        "revenue_share": "revenue share", "recommended_action": "recommended action"})
    table = table[["segment", "customers", "share", "avg recency (days)", "avg orders", "avg revenue", "avg R",
                   "avg F", "avg M", "revenue share", "recommended action"]]
    return ui.section("RFM segments", ui.chart(sizes), ui.chart(revenue), columns=2), \
        ui.section("Segment profiles and recommended actions", ui.table(table, PROFILE_FORMATS))


def _grid(grid: pd.DataFrame):
    if grid.empty:
        return ui.empty_state("R × F grid: no data")
    counts, segments = grid_matrix(grid)
    return ui.chart(ui.heatmap(counts, "Customers by R and F score", "F (frequency)", "R (recency)", hover=segments))


def _movement(gold: Gold, snapshot, order: list[str]):
    moves = at(gold.movement, snapshot, "to_snapshot")
    if moves.empty:
        return ui.empty_state("Segment movement: no earlier snapshot",
                              "<p>Movement appears once a second snapshot date has been scored.</p>")
    earlier = max(moves["from_snapshot"])
    matrix = movement_matrix(moves[moves["from_snapshot"] == earlier], order)
    return ui.chart(ui.heatmap(matrix, f"Segment movement {earlier} → {snapshot}", "to", "from", height=460))


def _clusters(clusters: pd.DataFrame):
    if clusters.empty:
        return ui.empty_state("Behavioural clusters: none for this snapshot")
    table = clusters.sort_values("cluster").rename(columns={"customer_share": "share", "revenue_share": "revenue share"})
    return ui.table(table[["cluster", "customers", "share", "revenue share", "description"]], CLUSTER_FORMATS)


AT_RISK_FORMATS = {"churn risk": "ratio", "recency (days)": "count", "orders": "count", "revenue": "money",
                   "age (days)": "count"}


def _churn(gold: Gold, snapshot, order: list[str]):
    churn, tags = at(gold.churn, snapshot), at(gold.tags, snapshot)
    if churn.empty:
        return ui.empty_state("Churn risk: not computed for this snapshot",
                              "<p>Run <code>dp run --product user-segmentation</code> again to add it.</p>")
    risky = at_risk(snapshot).rename(columns={
        "churn_risk": "churn risk", "recency_days": "recency (days)", "frequency": "orders", "monetary": "revenue",
        "customer_age_days": "age (days)", "lifecycle_stage": "lifecycle"})
    return ui.section(
        "Churn risk and behavioural tags",
        ui.chart(ui.heatmap(risk_matrix(churn, order), "Customers by segment and churn risk", "churn risk",
                            "segment", height=460)),
        ui.table(tag_table(tags), {"customers": "count", "share": "rate"}),
        ui.table(risky[["user_id", "segment", "churn risk", "recency (days)", "orders", "revenue", "age (days)",
                        "lifecycle"]], AT_RISK_FORMATS)
        if len(risky) else ui.empty_state("At-risk list: no customer at High churn risk"),
        columns=3, note=f"At-risk list: the {AT_RISK_ROWS} riskiest customers at level High (personal data).")


def lookup(user_id: str) -> list:
    """One customer's segment history and cluster, as widgets."""
    if not user_id:
        return []
    segments = lake.read_table(PRODUCT, "customer_segments", filters=[("user_id", "=", user_id)])
    if segments.empty:
        return [ui.empty_state(f"No customer {user_id}", "<p>Customers are users with an order before the snapshot date.</p>")]
    clusters = lake.read_table(PRODUCT, "customer_clusters", filters=[("user_id", "=", user_id)])
    history = customer_history(segments, clusters)
    latest = history.iloc[0]
    profiles = at(lake.read_table(PRODUCT, "segment_profiles"), latest["snapshot_date"])
    action = profiles.loc[profiles["segment"] == latest["segment"], "recommended_action"]
    described = at(lake.read_table(PRODUCT, "cluster_profiles"), latest["snapshot_date"])
    description = described.loc[described["cluster"] == latest["cluster"], "description"]
    summary = (f"<p class='dp-lookup'><b>{html.escape(user_id)}</b>: {html.escape(latest['segment'])} "
               f"(RFM {html.escape(latest['rfm'])}) on {latest['snapshot_date']}"
               + (f"; cluster {int(latest['cluster'])}: {html.escape(description.iloc[0])}" if len(description) else "")
               + (f"<br>Recommended action: {html.escape(action.iloc[0])}" if len(action) else "") + "</p>")
    table = history.rename(columns={"snapshot_date": "snapshot", "recency_days": "recency (days)",
                                    "frequency": "orders", "monetary": "revenue"})
    return [ui.widgets.HTML(summary),
            ui.table(table, {"recency (days)": "count", "orders": "count", "revenue": "money"})]


def render(gold: Gold, values: dict) -> list:
    snapshot = values["snapshot"]
    dates = snapshots(gold.profiles)
    earlier = [d for d in dates if d < snapshot]
    order = list(at(gold.profiles, snapshot).sort_values("segment_order")["segment"])
    segments, profiles = _segments(at(gold.profiles, snapshot))
    return [_cards(gold, snapshot, earlier[0] if earlier else None), segments,
            ui.section("R × F grid and movement", _grid(at(gold.grid, snapshot)), _movement(gold, snapshot, order),
                       columns=2),
            profiles,
            _churn(gold, snapshot, order),
            ui.section("Behavioural clusters (k-means)", _clusters(at(gold.clusters, snapshot)),
                       note="Numbered by centroid revenue, highest first; described by their centroids.")]


def filters(gold: Gold) -> dict:
    dates = snapshots(gold.profiles)
    return {"snapshot": ui.choice_filter("Snapshot", dates, [d.isoformat() for d in dates])}


def page():
    """The whole dashboard as one widget, the customer lookup under it; an empty state when gold
    has no segments yet."""
    return ui.page(PRODUCT, "User segmentation", "RFM segments and behavioural clusters of web and mobile customers",
                   load, has_data=lambda gold: not gold.profiles.empty,
                   no_data=("No segmentation data yet", NO_DATA_HINT), filters=filters, render=render,
                   below=lambda gold: [ui.section("Customer lookup",
                                                  ui.text_search("Customer", "user_id, then Enter", lookup))])
