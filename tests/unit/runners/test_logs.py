"""Log lines without a terminal (cron, CI, a pipe): UTC timestamp, level, message; no bar."""
import io
import logging

from runners import logs

APRIL_1_2026_NOON = 1775044800.0


def record(message, level=logging.INFO, *args):
    rec = logging.LogRecord("runners.run", level, __file__, 1, message, args, None)
    rec.created = APRIL_1_2026_NOON + 0.25
    return rec


def test_a_line_is_utc_time_level_and_message():
    line = logs.formatter().format(record("[1/4] web-user-analytics:bronze: succeeded in %.1f s", logging.INFO, 3.14))
    assert line == "2026-04-01T12:00:00Z INFO [1/4] web-user-analytics:bronze: succeeded in 3.1 s"


def test_without_a_terminal_a_notebook_shows_no_bar_and_its_cells_only_with_debug():
    out = io.StringIO()
    logger = logging.getLogger("runners.test_logs")
    logs.setup(debug=False, stream=out)
    logger.setLevel(logging.INFO)
    progress = logs.notebook_progress("[1/1] demo:ok", logger, stream=out)
    progress.cell(1, 3)
    progress.close()
    logger.info("[1/1] demo:ok: succeeded")
    assert out.getvalue().endswith(" INFO [1/1] demo:ok: succeeded\n")
    assert out.getvalue().count("\n") == 1
    logger.setLevel(logging.DEBUG)
    logs.notebook_progress("[1/1] demo:ok", logger, stream=out).cell(2, 3)
    assert out.getvalue().splitlines()[-1].split(" ", 1)[1].startswith("DEBUG [1/1] demo:ok: cell 2 of 3 (")
    logging.getLogger().removeHandler(logging.getLogger().handlers[-1])


def test_without_a_terminal_a_count_is_a_line_each_time_it_passes_another_100_000():
    out = io.StringIO()
    logger = logging.getLogger("runners.test_logs")
    logs.setup(debug=False, stream=out)
    logger.setLevel(logging.INFO)
    progress = logs.count_progress("sent to web.events", 250_000, logger, stream=out)
    for done in (5_000, 99_999, 100_000, 195_000, 205_000, 250_000):  # acknowledgements come in chunks
        progress.update(done)
    progress.close()
    lines = [line.split(" ", 2)[2] for line in out.getvalue().splitlines()]
    assert lines == ["  sent to web.events: 100,000 of 250,000", "  sent to web.events: 205,000 of 250,000"]
    logging.getLogger().removeHandler(logging.getLogger().handlers[-1])
