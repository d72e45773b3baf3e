"""The soak's growth figures (tests/integration/soak.py): the median of the last three samples
against the median of the three around the middle, and the bounds they are held to."""
from tests.integration import soak


def samples(rss):
    return [{"rss_mb": r, "threads": 10.0, "open_files": 50.0, "children": 1.0} for r in rss]


def test_a_warm_up_then_a_plateau_is_no_growth():
    assert soak.second_half_growth(samples([100, 300, 400, 400, 410, 400, 405, 400])) == {
        "rss_mb": 0.0, "threads": 0.0, "open_files": 0.0, "children": 0.0}


def test_a_steady_climb_shows_over_the_second_half():
    # middle (len 8 // 2 = 4): samples 3..5 = 130, 140, 150 -> 140; last three 150, 160, 170 -> 160
    assert soak.second_half_growth(samples([100, 110, 120, 130, 140, 150, 160, 170]))["rss_mb"] == 20.0


def test_growth_over_its_bound_is_named():
    bounds = {"rss_mb": (64.0, 0.10), "threads": (10.0, 0.10)}
    start = {"rss_mb": 1000.0, "threads": 100.0}
    assert soak.within({"rss_mb": 164.0, "threads": 20.0}, start, bounds) == []
    assert soak.within({"rss_mb": 164.1, "threads": 20.5}, start, bounds) == [
        "rss_mb: +164.1 (start 1000.0, bound +64.0 + 10%)", "threads: +20.5 (start 100.0, bound +10.0 + 10%)"]
