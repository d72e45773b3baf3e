"""Recorded results are scrapbook scraps: written as scrapbook.glue writes them, read back with
scrapbook; bad values are refused."""
import nbformat
import pytest
import scrapbook

from shared_lib import recorder


def notebook_with(outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data=d) for d in outputs]
    nb.cells = [cell]
    return nb


def shown_by(write, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda obj, raw, metadata: shown.append((obj, metadata)))
    write()
    return shown


def test_record_writes_scrapbook_payload(monkeypatch):
    shown = shown_by(lambda: recorder.record("rows", {"a": 3}), monkeypatch)
    assert shown == [({recorder.MIMETYPE: {"name": "rows", "data": {"a": 3}, "encoder": "json", "version": 1}},
                      {"scrapbook": {"name": "rows", "data": True, "display": False}})]


def test_record_writes_exactly_what_scrapbook_glue_writes(monkeypatch):
    monkeypatch.setattr("scrapbook.utils.is_kernel", lambda: True)
    value = {"rows_written": {"silver.events": 7}, "ok": True, "rate": 0.25, "names": ["a", None]}
    ours = shown_by(lambda: recorder.record("dp.lineage", value), monkeypatch)
    theirs = shown_by(lambda: scrapbook.glue("dp.lineage", value, encoder="json"), monkeypatch)
    assert ours == theirs


def test_none_records_nothing_so_scrapbook_can_read_the_notebook(monkeypatch):
    assert shown_by(lambda: recorder.record("moved_from", None), monkeypatch) == []


def test_read_records_keeps_last_value_and_ignores_other_outputs(tmp_path):
    nb = notebook_with([
        {recorder.MIMETYPE: {"name": "n", "data": 1, "encoder": "json", "version": 1}},
        {"text/plain": "hello"},
        {recorder.MIMETYPE: {"name": "n", "data": 2, "encoder": "json", "version": 1}},
        {recorder.MIMETYPE: {"name": "tables", "data": {"t": 4}, "encoder": "json", "version": 1}},
    ])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    assert recorder.read_records(path) == {"n": 2, "tables": {"t": 4}}
    assert recorder.read_records(str(path)) == {"n": 2, "tables": {"t": 4}}
    assert recorder.read_records(nb) == {"n": 2, "tables": {"t": 4}}


def test_read_records_skips_display_only_scraps(tmp_path):
    display_only = nbformat.v4.new_output("display_data", data={"text/plain": "chart"},
                                          metadata={"scrapbook": {"name": "c", "data": False, "display": True}})
    nb = notebook_with([{recorder.MIMETYPE: {"name": "n", "data": 5, "encoder": "json", "version": 1}}])
    nb.cells[0].outputs.append(display_only)
    assert recorder.read_records(nb) == {"n": 5}


@pytest.mark.parametrize("value", [object(), float("nan"), {1, 2}])
def test_values_that_are_not_json_are_refused(value):
    with pytest.raises(recorder.RecordError, match="cannot record 'x'"):
        recorder.record("x", value)
