"""Data-subject requests on a hand-built lake (tests/dsar_data.py), with delta-rs and no services:
the ids linked to a subject, `dp dsar access` finding exactly the hand-listed rows, `dp dsar erase`
leaving no file of the workspace or reports/ with the subject (data files of old versions and the
Delta log's statistics included) while every other subject's rows stay, and an erasure that dies
midway resuming on the next call. The audit topic is replaced by a list."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from shared_lib import audit, lake, products, subject_hash
from shared_lib.dsar import access, erase, identity, match, purge, requests
from tests import dsar_data as data

KEY = "dsar-test-key"


@pytest.fixture
def lake_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("DP_REPORTS", str(tmp_path / "ws" / "reports"))
    monkeypatch.setenv(subject_hash.ENV_VAR, KEY)
    data.build_lake(hash_of)
    return tmp_path / "ws"


@pytest.fixture
def audited(monkeypatch):
    sent = []
    monkeypatch.setattr(audit, "deliver", lambda params, events: sent.extend(events) or len(events))
    monkeypatch.setattr(erase, "topic_retention", lambda params: {"web.events": "7 days"})
    return sent


def hash_of(subject: str) -> str:
    return subject_hash.hash_id(subject, KEY.encode())


PARAMS: dict = {}


# ---- matching -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, found", [
    ('{"anonymous_id": "anon-000042"}', True),
    ("anon-000042", True),                              # the whole text
    ('{"user_id": "user-000420"}', False),              # the subject's id is a prefix of another id
    ('{"anonymous_id": "anon-0000421x"}', False),
    ('{"event_id": "w-9", "anonymous_id": "anon-000042", "event_ty', True),  # cut short
    (None, False),
])
def test_an_id_is_found_in_text_as_a_whole_token_only(text, found):
    import pyarrow as pa
    mask = match.text_mask(pa.array([text], pa.string()), [data.SUBJECT, data.COOKIE])
    assert mask.to_pylist() == [found]


def test_ids_are_found_in_every_row_of_a_sliced_array_even_where_an_occurrence_spans_two_rows():
    import pyarrow as pa
    # "xa" + "aa" read as one buffer: the first "aa" spans both rows, the second is row 1's own.
    texts = pa.array(["skipped", "xa", "aa", "a aa", None, "aaa", "b"], pa.string()).slice(1, 5)
    assert match.text_mask(texts, ["aa"]).to_pylist() == [False, True, True, False, False]
    chunked = pa.chunked_array([texts, pa.array(["aa!"], pa.string())])
    assert match.text_mask(chunked, ["aa"]).to_pylist() == [False, True, True, False, False, True]


@pytest.mark.parametrize("content, found", [
    (b'{"anonymous_id": "anon-000042"}', True),
    (b"anon-000042", True),                             # the whole file
    (b"\x00\xffanon-000042\x00", True),                  # between binary bytes
    (b"user-000420 anon-0000421 xanon-000042", False),  # prefixes and suffixes of longer tokens only
    (b"user-000420,user-00042", True),                  # a longer token first, then the id itself
    (b"", False),
])
def test_a_file_holds_an_id_as_a_whole_token_as_the_token_regex_says(content, found):
    ids = [data.SUBJECT, data.COOKIE]
    assert match.holds_token(content, ids) is found
    assert (re.search(match.token_pattern(ids).encode(), content) is not None) is found


def test_a_raw_message_names_the_subject_by_its_fields_when_it_parses_and_by_its_text_otherwise():
    ids = {data.SUBJECT, data.COOKIE}
    fields = ("anonymous_id", "device_id", "subject_id", "user_id")
    assert match.matched_by(json.dumps(data.web_event("w", data.COOKIE, data.SUBJECT)), ids, fields) \
        == "field:anonymous_id,user_id"
    assert match.matched_by(data.TRUNCATED, ids, fields) == "text"


def test_ids_that_share_a_row_with_the_subject_are_linked_to_it_one_hop_only():
    rows = [{"anonymous_id": "a1", "user_id": "u1"}, {"anonymous_id": "a2", "user_id": "u1"},
            {"anonymous_id": "a2", "user_id": "u2"},  # u2 shares a cookie with u1, not u1 itself
            {"anonymous_id": "a3", "user_id": None}]
    assert match.linked_ids(rows, "u1") == {"a1": ["anonymous_id"], "a2": ["anonymous_id"]}


def test_redaction_replaces_whole_tokens_only():
    text = b'{"a": "anon-000042", "b": "anon-0000421", "c": "x anon-000042"}'
    assert match.redact(text, ["anon-000042"]) == (
        b'{"a": "[erased]", "b": "anon-0000421", "c": "x [erased]"}', 2)


# ---- identity and access --------------------------------------------------------------------

def test_the_subject_is_its_id_the_cookie_seen_with_it_on_the_web_and_the_phone_seen_with_it(lake_home):
    subject, links = identity.resolve(data.SUBJECT)
    assert subject.ids == {data.SUBJECT, data.COOKIE, data.DEVICE}
    assert links == {data.COOKIE: ["web-user-analytics.silver.events.anonymous_id"],
                     data.DEVICE: ["mobile-user-analytics.silver.events.device_id"]}
    assert subject.hashes == {hash_of(i) for i in subject.ids}


def test_access_exports_exactly_the_hand_listed_rows_with_a_manifest(lake_home, audited, tmp_path):
    manifest = access.access(PARAMS, data.SUBJECT, tmp_path / "out", progress=lambda _: None)
    by_table = {t["table"]: t for t in manifest["tables"]}
    for table, (column, values) in data.EXPECTED_ACCESS.items():
        exported = json.loads((tmp_path / "out" / by_table[table]["file"]).read_text())
        assert sorted(r[column] for r in exported) == sorted(values), table
        assert by_table[table]["rows"] == len(values)
    # Nothing else: tables with personal data but none of the subject's rows export empty lists.
    found_elsewhere = {t: e["rows"] for t, e in by_table.items()
                       if e["rows"] and t not in data.EXPECTED_ACCESS}
    assert found_elsewhere == {"compliance-auditing.silver.dsar_requests": 1}  # this request itself
    assert manifest["rows"] == 4 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1
    assert sorted(manifest["ids"]) == sorted(data.SUBJECT_IDS)
    assert "web-user-analytics.gold.daily_kpis" in manifest["tables_without_personal_data"]
    # Raw rows say how they name the subject.
    bronze = json.loads((tmp_path / "out" / "web-user-analytics.bronze.events_raw.json").read_text())
    assert {r["offset"]: r["_matched_by"] for r in bronze} == {
        0: {"key": "text", "value": "field:anonymous_id"},
        1: {"key": "text", "value": "field:anonymous_id,user_id"},
        2: {"key": "text", "value": "field:anonymous_id,user_id"},
        4: {"value": "text"}}  # the malformed line: no key, matched on its text
    # The manifest's hash is the file's; the version read is the table's.
    import hashlib
    entry = by_table["web-user-analytics.silver.events"]
    assert entry["sha256"] == hashlib.sha256((tmp_path / "out" / entry["file"]).read_bytes()).hexdigest()
    assert entry["version"] == 1  # two commits
    # One export in the audit topic, naming the subject by its keyed hash only.
    assert [(e["action"], e["resource"], e.get("subject_hash"), "subject_id" in e) for e in audited] == [
        ("export", "dp dsar access", hash_of(data.SUBJECT), False)]
    (request,) = requests.read_requests()
    assert (request["kind"], request["status"], request["rows"], request["linked_ids"]) == ("access", "completed", 13, 3)
    assert request["due_at"] - request["received_at"] == dt.timedelta(days=30)
    assert request["subject_hash"] == hash_of(data.SUBJECT)


# ---- erasure --------------------------------------------------------------------------------

def other_rows() -> dict[str, int]:
    """Rows of the other subjects per table (hand-listed in ROWS: they must all stay)."""
    out = {}
    for product, name in data.ROWS:
        table = products.get(product).table(name)
        out[table.qualified_name] = len(lake.read(table))
    return out


OTHERS_AFTER = {  # rows left per table after the erasure: the hand-listed rows of other subjects
    "web-user-analytics.bronze.events_raw": 3, "web-user-analytics.silver.quarantine": 1,
    "web-user-analytics.silver.events": 2, "mobile-user-analytics.silver.events": 1,
    "mobile-user-analytics.gold.devices": 1, "compliance-auditing.silver.consent_events": 1,
    "user-segmentation.silver.customer_features": 1, "web-user-analytics.gold.daily_kpis": 1,
}
REMOVED = {"web-user-analytics.bronze.events_raw": 4, "web-user-analytics.silver.quarantine": 1,
           "web-user-analytics.silver.events": 2, "mobile-user-analytics.silver.events": 1,
           "mobile-user-analytics.gold.devices": 1, "compliance-auditing.silver.consent_events": 1,
           "user-segmentation.silver.customer_features": 1}


def test_erase_leaves_no_file_with_the_subject_and_every_other_subject_intact(lake_home, audited):
    page = lake_home / "reports" / "runs" / "r1" / "02_silver.html"
    page.parent.mkdir(parents=True)
    page.write_text(f"<td>{data.COOKIE}</td><td>{data.OTHER_COOKIE}</td>")  # an executed notebook's output
    assert data.files_holding([lake_home], data.SUBJECT_IDS)  # the subject is everywhere, the log too
    versions_before = {s: lake.version(products.find_table(s)) for s in REMOVED}

    result = erase.erase(PARAMS, data.SUBJECT, reason="art. 17", log=lambda _: None)

    assert result.rows_removed == REMOVED
    assert data.files_holding([lake_home], data.SUBJECT_IDS, skip=[lake_home / "secrets"]) == []
    assert other_rows() == OTHERS_AFTER
    assert page.read_text() == f"<td>[erased]</td><td>{data.OTHER_COOKIE}</td>"
    assert result.files_redacted == [str(page)]
    # The audit trail is append-only and holds the keyed hash only: kept.
    assert len(lake.read(products.find_table("compliance-auditing.silver.audit_trail"))) == 2
    assert "web-user-analytics.gold.daily_kpis" in result.kept_without_personal_data
    # Time travel: the versions before the erasure are gone from the log; the ones left hold none of it.
    for name, before in versions_before.items():
        readable = data.readable_versions(products.find_table(name))
        assert readable and min(readable) > before, name
        assert not any(data.holds_subject(content) for content in readable.values()), name
    # The request and the erasure log: hashes only, one log row per erased id.
    (request,) = requests.read_requests()
    assert (request["kind"], request["status"], request["reason"], request["rows"]) == ("erase", "completed", "art. 17", 11)
    log = lake.read(requests.erasure_table())
    assert sorted(zip(log["subject_hash"], log["requested_subject"])) == sorted(
        (hash_of(i), i == data.SUBJECT) for i in data.SUBJECT_IDS)
    assert set(log["rows_removed_total"]) == {11}
    assert json.loads(log["rows_removed"][0]) == REMOVED
    assert requests.erased_hashes() == {hash_of(i) for i in data.SUBJECT_IDS}
    assert [(e["action"], e.get("subject_hash")) for e in audited] == [("delete", hash_of(data.SUBJECT))]
    assert not list(purge.pending_dir().glob("*"))
    lines = "\n".join(erase.report_lines(result))
    assert "web.events: 7 days" in lines and "web-user-analytics.gold.daily_kpis" in lines


def test_an_erasure_that_dies_midway_resumes_the_same_request_on_the_next_call(lake_home, audited):
    def crash_after_web_bronze(name):  # the tables go bronze first: three bronze tables are done
        if name == "web-user-analytics.bronze.events_raw":
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        erase.erase(PARAMS, data.SUBJECT, log=lambda _: None, after_table=crash_after_web_bronze)
    (pending,) = requests.read_requests()
    assert pending["status"] == "in_progress"
    # The bronze table is done; silver still holds the subject's links.
    assert len(lake.read(products.find_table("web-user-analytics.bronze.events_raw"))) == 3

    result = erase.erase(PARAMS, data.SUBJECT, log=lambda _: None)

    assert result.resumed and result.request_id == pending["request_id"]
    assert result.rows_removed == REMOVED  # the first attempt's tables counted once
    assert other_rows() == OTHERS_AFTER
    assert data.files_holding([lake_home], data.SUBJECT_IDS, skip=[lake_home / "secrets"]) == []
    assert [r["status"] for r in requests.read_requests()] == ["completed"]
    assert len(audited) == 1  # the resumed call records nothing new


def test_erasing_again_opens_a_new_request_that_finds_nothing(lake_home, audited):
    erase.erase(PARAMS, data.SUBJECT, log=lambda _: None)
    again = erase.erase(PARAMS, data.SUBJECT, log=lambda _: None)
    assert again.rows_removed == {} and not again.resumed
    assert sorted(r["rows"] for r in requests.read_requests()) == [0, 11]
    assert other_rows() == OTHERS_AFTER


def test_an_erasure_is_refused_while_a_legal_hold_holds_the_subject_a_linked_id_or_a_table():
    from shared_lib import holds
    from shared_lib.dsar import erase as erase_lib
    in_force = holds.InForce(subjects=("u-held",), tables=frozenset({"web-user-analytics.silver.events"}))
    # the requested id itself, or an id linked to it, is held
    with pytest.raises(holds.HoldError, match=r"legal hold is in force on subject u-held.*dp hold list"):
        erase_lib.refuse_if_held(in_force, {"u-other", "u-held"}, [])
    # a table the erasure would delete from is held
    with pytest.raises(holds.HoldError, match=r"on table web-user-analytics.silver.events"):
        erase_lib.refuse_if_held(in_force, {"u-free"}, ["web-user-analytics.silver.events", "x.silver.y"])
    erase_lib.refuse_if_held(in_force, {"u-free"}, ["x.silver.y"])  # nothing held: no error


def test_raw_messages_are_deleted_by_their_kafka_coordinates_within_each_partitions_offset_range():
    import pyarrow as pa

    from shared_lib.dsar import rows, scope

    raw = scope.of(products.get(data.WEB).table("events_raw"))
    found = pa.table({"topic": ["web.events"] * 3, "partition": [0, 0, 1], "offset": [7, 2, 5]})
    assert rows.key_columns(raw) == ["topic", "partition", "offset"]
    assert rows.delete_predicate(raw, found) == (
        "(`topic` = 'web.events' AND `partition` = 0 AND `offset` >= 2 AND `offset` <= 7 AND `offset` IN (2, 7))"
        " OR (`topic` = 'web.events' AND `partition` = 1 AND `offset` >= 5 AND `offset` <= 5 AND `offset` IN (5))")
