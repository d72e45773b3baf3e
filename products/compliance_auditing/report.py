"""The report step of compliance-auditing: the compliance report kept as evidence. Each run that
touches compliance renders the dashboard's content (cards, tables; no code, no widgets, no
JavaScript) to one static HTML file, ``<compliance_reports_dir>/<run id>.html``, and rewrites
``index.html``, which lists every report, newest first. All CSS is inline and nothing points
outside the file, so an auditor can open it months later without a server.

A report holds the run id, the version of each table it read, and a content hash: the sha256 of
its body (the UTF-8 text between ``<main id="report">`` and ``</main>``), shown under the body,
in a ``<meta name="dp-sha256">`` and in the index. The renderers are pure; ``run`` reads the
tables with delta-rs (no Spark) and writes the files.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from pathlib import Path

import pandas as pd

from products.compliance_auditing import dashboard as board
from shared_lib import dashboard as ui
from shared_lib import lake, paths, products

INDEX = "index.html"
BODY_START, BODY_END = '<main id="report">', "</main>"
REPORT_CSS = """
body { font-family: system-ui, sans-serif; color: #1d2939; margin: 24px auto; max-width: 1200px; padding: 0 16px; }
.dp-meta td:first-child { text-align: left; } .dp-hash { font-family: monospace; word-break: break-all; }
footer { margin-top: 24px; color: #5f6b7a; font-size: 0.9em; }
"""
CONSENT_FORMATS = {"coverage": "rate", "grants": "count", "withdrawals": "count"}
_META = re.compile(r'<meta name="dp-([a-z0-9-]+)" content="([^"]*)">')


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _section(title: str, content: str, note: str = "") -> str:
    note_html = f"<p class='dp-note'>{html.escape(note)}</p>" if note else ""
    return f"<section class='dp-section'><h2>{html.escape(title)}</h2>{note_html}{content}</section>"


def _table_or_empty(df: pd.DataFrame, formats: dict, empty: str) -> str:
    return ui.table_html(df, formats) if len(df) else f"<div class='dp-empty'><b>{html.escape(empty)}</b></div>"


def body_html(data: board.Compliance, run_id: str, versions: dict[str, int | None], generated_at: dt.datetime) -> str:
    """The report's body: what it is, the tables it read, then the dashboard's content over the
    default period (the last days of gold) against the previous period."""
    read = pd.DataFrame({"table": list(versions), "version": ["–" if v is None else str(v) for v in versions.values()]})
    generated = generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [(f"<div class='dp-header'><h1>Compliance report</h1><p>Run <b class='dp-run-id'>{html.escape(run_id)}</b>, "
              f"generated {generated}</p></div>"),
             _section("Tables read", ui.table_html(read, {}))]
    if data.kpis.empty:
        parts.append("<div class='dp-empty'><b>No compliance data yet</b>The compliance KPIs have no rows.</div>")
    else:
        period = board.default_period(data.kpis)[2]
        current, previous = board.card_values(data.kpis, period), board.card_values(data.kpis, period.previous())
        cards = "".join(ui.kpi_card_html(k, current.get(k.key), previous.get(k.key), f"previous {period.days} days")
                        for k in board.KPIS)
        audit = period.rows(data.audit, "event_date")
        consent = period.rows(board.consent_by_day(data.kpis))
        parts += [f"<p class='dp-note dp-period'>Period {html.escape(period.label())} (UTC days)</p>",
                  f"<div class='dp-cards'>{cards}</div>",
                  _section("Audit events by action and result",
                           _table_or_empty(board.by_action(data.kpis, period), {"events": "count"}, "No audit events")),
                  _section("Denied accesses",
                           _table_or_empty(board.denied(audit), board.DENIED_FORMATS, "No denied access")),
                  _section("Consent per day", _table_or_empty(consent, CONSENT_FORMATS, "No consent decisions")),
                  _section("Data-subject requests per day",
                           _table_or_empty(period.rows(board.dsar_by_day(data.kpis)), board.DSAR_FORMATS,
                                           "No data-subject requests"),
                           note="dp dsar access / erase; overdue: still open more than 30 days after receipt.")]
    parts.append(_section("Retention", _table_or_empty(data.retention, board.RETENTION_FORMATS, board.NO_RETENTION_CHECK),
                          note=board.RETENTION_NOTE))
    parts.append(_section("Personal data inventory", ui.table_html(data.inventory, board.INVENTORY_FORMATS),
                          note="Declared columns tagged as personal data (product.yaml), their owner and retention."))
    return "".join(parts)


def _page(title: str, metas: dict[str, str], content: str) -> str:
    meta = "".join(f'<meta name="dp-{k}" content="{html.escape(v, quote=True)}">' for k, v in metas.items())
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{meta}'
            f"<style>{ui.CSS}{REPORT_CSS}</style></head><body>{content}</body></html>\n")


def document(body: str, run_id: str, generated_at: dt.datetime) -> str:
    """The whole report file around ``body``, with its content hash."""
    digest = content_hash(body)
    footer = (f"<footer>Content hash (sha256 of the UTF-8 text between <code>{html.escape(BODY_START)}</code> and "
              f"<code>{html.escape(BODY_END)}</code>): <span class='dp-hash'>{digest}</span></footer>")
    metas = {"run-id": run_id, "generated-at": generated_at.isoformat(), "sha256": digest}
    return _page(f"Compliance report · run {run_id}", metas, f"{BODY_START}{body}{BODY_END}{footer}")


def body_of(document_html: str) -> str:
    """The body of a report file, as hashed."""
    return document_html.split(BODY_START, 1)[1].rsplit(BODY_END, 1)[0]


def entry(file: Path) -> dict:
    """What the index shows of a report file (from its meta tags)."""
    metas = dict(_META.findall(file.read_text(encoding="utf-8")))
    return {"file": file.name, "run_id": html.unescape(metas.get("run-id", "")),
            "generated_at": metas.get("generated-at", ""), "sha256": metas.get("sha256", "")}


def index_html(entries: list[dict]) -> str:
    """The index page: every report, newest first, with its content hash."""
    link = lambda e: f"<a href='{html.escape(e['file'], quote=True)}'>{html.escape(e['run_id'])}</a>"  # noqa: E731
    rows = "".join(f"<tr><td class='dp-text'>{html.escape(e['generated_at'])}</td><td class='dp-text'>{link(e)}</td>"
                   f"<td class='dp-text dp-hash'>{html.escape(e['sha256'])}</td></tr>"
                   for e in sorted(entries, key=lambda e: (e["generated_at"], e["run_id"]), reverse=True))
    table = ("<table class='dp-table'><thead><tr><th>generated (UTC)</th><th>run</th><th>sha256 of the body</th>"
             f"</tr></thead><tbody>{rows}</tbody></table>")
    return _page("Compliance reports", {}, f"<div class='dp-header'><h1>Compliance reports</h1>"
                 f"<p>{len(entries)} reports, newest first</p></div>{table}")


def file_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id) + ".html"


def write(folder: Path, run_id: str, document_html: str) -> Path:
    """The report file, then the index over every report in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name(run_id)
    target.write_text(document_html, encoding="utf-8")
    entries = [entry(f) for f in folder.glob("*.html") if f.name != INDEX]
    (folder / INDEX).write_text(index_html(entries), encoding="utf-8")
    return target


def run(ctx) -> dict:
    """Render this run's compliance report from the tables as they are now; returns its path and hash."""
    declared = products.get(board.PRODUCT)
    versions = {declared.table(t).qualified_name: lake.version(declared.table(t)) for t in board.TABLES}
    status = products.get(paths.PLATFORM).table(board.STATUS_TABLE)
    versions[status.qualified_name] = lake.version(status)
    data = board.load()
    generated_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    doc = document(body_html(data, ctx.run_id, versions, generated_at), ctx.run_id, generated_at)
    target = write(paths.compliance_reports_dir(), ctx.run_id, doc)
    return {"report": str(target), "report_sha256": content_hash(body_of(doc))}
