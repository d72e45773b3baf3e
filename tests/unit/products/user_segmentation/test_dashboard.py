"""The user-segmentation dashboard's numbers on hand-computed cases: snapshot cards, the R x F
matrix, the movement matrix, one customer's history; and the shared heatmap and table."""
import datetime as dt

import pandas as pd

from products.user_segmentation import dashboard as seg
from shared_lib import dashboard as ui

S1, S2 = dt.date(2024, 4, 1), dt.date(2024, 5, 1)


def test_totals_of_a_snapshot():
    profiles = pd.DataFrame({"customers": [3, 0, 5], "revenue": [600.0, 0.0, 400.0],
                             "avg_frequency": [4.0, None, 1.2]})
    # orders 3 * 4 + 5 * 1.2 = 18 over 8 customers; revenue 1000 over 8
    assert seg.totals(profiles) == {"customers": 8.0, "revenue": 1000.0, "revenue_per_customer": 125.0,
                                    "orders_per_customer": 2.25}
    assert seg.totals(profiles.iloc[0:0])["customers"] is None


def test_snapshots_latest_first():
    assert seg.snapshots(pd.DataFrame({"snapshot_date": [S1, S2, S1]})) == [S2, S1]


def test_grid_matrix_has_r5_on_top_and_f1_left():
    grid = pd.DataFrame([(r, f, f"seg{r}{f}", 10 * r + f) for r in range(1, 6) for f in range(1, 6) if (r, f) != (2, 3)],
                        columns=["r", "f", "segment", "customers"])
    counts, segments = seg.grid_matrix(grid)
    assert counts.index.tolist() == [5, 4, 3, 2, 1] and counts.columns.tolist() == [1, 2, 3, 4, 5]
    assert counts.loc[5].tolist() == [51, 52, 53, 54, 55]
    assert counts.loc[2].tolist() == [21, 22, 0, 24, 25]  # a missing cell counts 0
    assert segments.loc[4, 1] == "seg41"


def test_movement_matrix_with_new_and_gone_customers():
    moves = pd.DataFrame({"from_segment": ["A", "A", None, "B"], "to_segment": ["A", "B", "B", None],
                          "customers": [5, 2, 3, 1]})
    matrix = seg.movement_matrix(moves, ["A", "B", "C"])
    assert matrix.index.tolist() == ["A", "B", "C", seg.NEW]
    assert matrix.columns.tolist() == ["A", "B", "C", seg.GONE]
    assert matrix.to_numpy().tolist() == [[5, 2, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 3, 0, 0]]


def test_customer_history_latest_first_with_its_cluster():
    segments = pd.DataFrame({"snapshot_date": [S1, S2], "segment": ["Hibernating", "Champions"],
                             "rfm": ["112", "555"], "recency_days": [40, 2], "frequency": [1, 6],
                             "monetary": [20.0, 420.0]})
    clusters = pd.DataFrame({"snapshot_date": [S2], "cluster": [1]})
    history = seg.customer_history(segments, clusters)
    assert history["snapshot_date"].tolist() == [S2, S1]
    assert history["segment"].tolist() == ["Champions", "Hibernating"]
    assert history["cluster"].iloc[0] == 1 and pd.isna(history["cluster"].iloc[1])


def test_heatmap_writes_counts_in_cells():
    matrix = pd.DataFrame([[1, 2000], [3, 0]], index=["x", "y"], columns=["a", "b"])
    trace = ui.heatmap(matrix, "t", "cols", "rows").data[0]
    assert [list(row) for row in trace.text] == [["1", "2,000"], ["3", "0"]]
    assert list(trace.y) == ["x", "y"] and list(trace.x) == ["a", "b"]


def test_table_aligns_text_columns_left():
    widget = ui.table(pd.DataFrame({"segment": ["A"], "customers": [3], "action": ["call <them>"]}),
                      {"customers": "count"})
    assert "<td class='dp-text'>A</td><td>3</td><td class='dp-text'>call &lt;them&gt;</td>" in widget.value


def test_risk_matrix_has_every_band_and_segment():
    churn = pd.DataFrame({"segment": ["A", "A", "B"], "band": [0, 9, 4], "customers": [2, 1, 5]})
    matrix = seg.risk_matrix(churn, ["A", "B", "C"])
    assert matrix.columns[0] == "0.0-0.1" and matrix.columns[-1] == "0.9-1.0"
    assert matrix.loc["A"].tolist() == [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert matrix.loc["B", "0.4-0.5"] == 5 and matrix.loc["C"].sum() == 0


def test_tag_table_in_defined_order_with_shares():
    tags = pd.DataFrame({"tag": ["value_tier", "value_tier", "churn_risk_level"], "value": ["Low", "High", "High"],
                         "customers": [3, 1, 4]})
    table = seg.tag_table(tags)
    value = table[table["tag"] == "Value"]
    assert value[["value", "customers", "share"]].values.tolist() == [["High", 1.0, 0.25], ["Medium", 0.0, 0.0],
                                                                      ["Low", 3.0, 0.75]]
    assert table[table["tag"] == "Churn risk"]["customers"].tolist() == [4.0, 0.0, 0.0]
    assert table[table["tag"] == "Lifecycle"]["share"].isna().all()  # no counts: no shares
