"""What a pipeline notebook did, shown by its last cell (``ctx.finish``): the tables written with
rows written and Delta version, the tables read with their versions, the quarantined rows by
reason, and the step's key figures. Rendered as HTML in the executed notebook and its HTML report,
as aligned text elsewhere. Plain values in, no Spark and no widgets.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

# The key of a step's result that holds its quarantined rows by reason: shown as its own table.
QUARANTINE_BY_REASON = "quarantine_by_reason"
HEADING = "Tables written"  # the summary's stable marker (tests look for it in the HTML report)
LIST_SHOWN = 6  # a longer list shows its first and last items and how many


@dataclass(frozen=True)
class StepReport:
    title: str  # e.g. "web-user-analytics · silver · run 20260101-120000"
    written: list[tuple[str, int, int]]  # (table, rows written, Delta version)
    read: list[tuple[str, int]]  # (table, version read)
    quarantine: list[tuple[str, int]] = field(default_factory=list)  # (reason, rows)
    figures: list[tuple[str, object]] = field(default_factory=list)  # (name, number or text)

    def sections(self) -> list[tuple[str, tuple[str, ...], list[tuple], str]]:
        """(heading, column names, rows, text when there are no rows) of each part shown."""
        parts: list[tuple[str, tuple[str, ...], list[tuple], str]] = [
            (HEADING, ("table", "rows written", "Delta version"), self.written, "nothing written"),
                 ("Tables read", ("table", "version read"), self.read, "nothing read")]
        if self.quarantine:
            parts.append(("Quarantine by reason", ("reason", "rows"), self.quarantine, ""))
        parts.append(("Key figures", ("figure", "value"), self.figures, "none"))
        return parts

    def _repr_html_(self) -> str:
        out = [f'<div class="dp-step-report"><h3>{html.escape(self.title)}</h3>']
        for heading, columns, rows, empty in self.sections():
            out.append(f"<h4>{html.escape(heading)}</h4>")
            if not rows:
                out.append(f"<p><em>{html.escape(empty)}</em></p>")
                continue
            head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
            body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
            out.append(f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
        return "".join(out) + "</div>"

    def __repr__(self) -> str:
        lines = [self.title]
        for heading, columns, rows, empty in self.sections():
            lines += ["", heading]
            if not rows:
                lines.append(f"  ({empty})")
                continue
            texts = [[_text(v) for v in row] for row in [columns, *rows]]
            widths = [max(len(r[i]) for r in texts) for i in range(len(columns))]
            right = [all(_numeric(row[i]) for row in rows) for i in range(len(columns))]
            lines += ["  " + "  ".join(v.rjust(w) if r else v.ljust(w)
                                      for v, w, r in zip(line, widths, right)).rstrip() for line in texts]
        return "\n".join(lines)


def _numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _cell(value) -> str:
    style = ' style="text-align: right"' if _numeric(value) else ""
    return f"<td{style}>{html.escape(_text(value))}</td>"


def figure_text(value) -> str:
    """A result value as a reader wants it: lists joined (long ones shortened), dicts as
    ``key: value`` pairs, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        items = [figure_text(v) for v in value]
        if len(items) > LIST_SHOWN:
            return f"{', '.join(items[:2])} … {', '.join(items[-2:])} ({len(items)})"
        return ", ".join(items)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {figure_text(v)}" for k, v in value.items()) if value else "none"
    return _text(value)


def build(title: str, lineage: dict, rows_by_table: dict[str, int], results: dict) -> StepReport:
    """The report of one step from its lineage record (``tables_read``, ``tables_written``), the
    rows written per table and the step's results."""
    written = [(name, rows_by_table.get(name, 0), version)
               for name, version in sorted(lineage.get("tables_written", {}).items())]
    read = sorted(lineage.get("tables_read", {}).items())
    quarantine = list((results.get(QUARANTINE_BY_REASON) or {}).items())
    figures = [(name, value if _numeric(value) else figure_text(value))
               for name, value in results.items() if name != QUARANTINE_BY_REASON]
    return StepReport(title, written, read, quarantine, figures)
