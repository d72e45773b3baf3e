"""Recorded results round-trip through a notebook in scrapbook's format; bad values are refused."""
import nbformat
import pytest

from shared_lib import recorder


def notebook_with(outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data=d) for d in outputs]
    nb.cells = [cell]
    return nb


def test_record_writes_scrapbook_payload(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw, metadata: shown.append((obj, metadata)))
    recorder.record("rows", {"a": 3})
    payload, meta = shown[0]
    assert payload == {recorder.MIMETYPE: {"name": "rows", "data": {"a": 3}, "encoder": "json", "version": 1}}
    assert meta == {"scrapbook": {"name": "rows", "data": True, "display": False}}


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
    assert recorder.read_records(nb) == {"n": 2, "tables": {"t": 4}}


@pytest.mark.parametrize("value", [object(), float("nan"), {1, 2}])
def test_values_that_are_not_json_are_refused(value):
    with pytest.raises(recorder.RecordError, match="cannot record 'x'"):
        recorder.record("x", value)
