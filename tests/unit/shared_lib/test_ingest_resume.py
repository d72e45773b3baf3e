"""Where bronze resumes when its checkpoint is lost: after the newest offset its table holds."""
from shared_lib.ingest import resume_offsets


def test_each_partition_resumes_after_its_newest_offset_held_and_an_unseen_one_from_the_start():
    held = {("web.events", 0): 41, ("web.events", 2): 9}
    assert resume_offsets(held, {"web.events": {0: 50, 1: 3, 2: 10}}) == {"web.events": {"0": 42, "1": -2, "2": 10}}


def test_several_topics_each_get_every_partition():
    held = {("a", 0): 0, ("b", 1): 5}
    assert resume_offsets(held, {"a": {0: 1}, "b": {0: 0, 1: 6}}) == {"a": {"0": 1}, "b": {"0": -2, "1": 6}}
