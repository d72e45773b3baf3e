"""RFM scores, segments, profiles, the R x F grid and segment movement (metrics.md,
user-segmentation) on hand-built customers whose every expected value is worked out below."""


from __future__ import annotations

import pytest

from products.user_segmentation import rfm

# The grid of metrics.md written out cell by cell: GRID[R][F - 1].
GRID = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    3: ["About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
}


ACTIONS = {name: f"do {name.lower()}" for name in rfm.SEGMENT_NAMES}


def test_every_r_f_cell_has_its_segment():
    for r, row in GRID.items():
        for f, expected in enumerate(row, 1):
            assert rfm.segment_of(r, f) == expected, (r, f)
    with pytest.raises(ValueError, match="R=0"):
        rfm.segment_of(0, 3)


def test_actions_must_cover_every_segment():
    assert rfm.check_actions(ACTIONS) == ACTIONS
    with pytest.raises(ValueError, match=r"no action for \['Hibernating'\]"):
        rfm.check_actions({k: v for k, v in ACTIONS.items() if k != "Hibernating"})
    with pytest.raises(ValueError, match=r"unknown segment\(s\) \['Champs'\]"):
        rfm.check_actions({**ACTIONS, "Champs": "x"})
