"""The segment grid of metrics.md, without Spark: the RFM step, the API's classification and
the tests share it."""
from __future__ import annotations

# The segment grid of metrics.md: (segment, R scores, F scores). The ten cells cover all 25
# (R, F) pairs exactly once; the order is the one segment lists and charts use.
SEGMENTS: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal Customers", (3, 4), (4, 5)),
    ("Potential Loyalists", (4, 5), (2, 3)),
    ("New Customers", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need Attention", (3,), (3,)),
    ("About to Sleep", (3,), (1, 2)),
    ("At Risk", (1, 2), (3, 4)),
    ("Can't Lose Them", (1, 2), (5,)),
    ("Hibernating", (1, 2), (1, 2)),
)
SEGMENT_NAMES = tuple(name for name, _, _ in SEGMENTS)


def segment_of(r: int, f: int) -> str:
    for name, rs, fs in SEGMENTS:
        if r in rs and f in fs:
            return name
    raise ValueError(f"no segment for R={r}, F={f}: scores are 1-5")
