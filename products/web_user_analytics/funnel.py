"""The closed funnel of metrics.md. Steps come from the parameters
(``web-user-analytics.gold.funnel_steps``): each has a ``name`` and either a ``page_path`` (a page
view of that path) or an ``event_type``.

A session reaches step 1 at its first event matching step 1, and step k at its first event
matching step k at or after the time it reached step k-1 (so one event may complete two steps
that it both matches). Per session-start date and step: sessions_reached,
conversion_from_start = reached_k / reached_1 and step_conversion = reached_k / reached_(k-1)
(null for step 1, and wherever the denominator is 0).
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Step:
    name: str
    page_path: str | None = None
    event_type: str | None = None

    def matches(self) -> Column:
        if self.page_path is not None:
            return (F.col("event_type") == "page_view") & (F.col("page_path") == self.page_path)
        return F.col("event_type") == self.event_type


def steps_from_params(entries: list) -> list[Step]:
    """Validated steps from the parameter list; an error names the entry that is wrong."""
    where = "parameter web-user-analytics.gold.funnel_steps"
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{where}: expected a non-empty list of steps")
    steps = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) not in ({"name", "page_path"}, {"name", "event_type"}):
            raise ValueError(f"{where}[{i}]: expected {{name, page_path}} or {{name, event_type}}, got {entry!r}")
        steps.append(Step(**entry))
    return steps


def _reaches(k: int):
    """Whether an event completes step k (0-based), given when the session reached step k-1."""
    if k == 0:
        return lambda e: e["m0"]
    # Compared with null (step k-1 never reached) this is null: the step is not reached either.
    return lambda e: e[f"m{k}"] & (e["event_ts"] >= F.col(f"t{k - 1}"))


def funnel(sessions: DataFrame, events_in_sessions: DataFrame, steps: list[Step]) -> DataFrame:
    """(date, step, step_name, sessions_reached, conversion_from_start, step_conversion)."""
    flags = [s.matches().alias(f"m{k}") for k, s in enumerate(steps)]
    # Only the events that match a step are gathered per session (a session with none still
    # gets its rows, unreached, from the join with ``sessions`` below).
    matching = events_in_sessions.select("session_id", "event_ts", *flags).where(
        F.greatest(*[F.col(f"m{k}") for k in range(len(steps))]))
    per_session = matching.groupBy("session_id").agg(
        F.collect_list(F.struct("event_ts", *[f"m{k}" for k in range(len(steps))])).alias("_events"))
    for k in range(len(steps)):
        per_session = per_session.withColumn(f"t{k}", F.array_min(F.transform(
            F.filter("_events", _reaches(k)), lambda e: e["event_ts"])))
    step_rows = F.explode(F.array(*[
        F.struct(F.lit(k + 1).alias("step"), F.lit(s.name).alias("step_name"),
                 F.col(f"t{k}").isNotNull().alias("reached"))
        for k, s in enumerate(steps)]))
    dated = sessions.select("session_id", F.col("session_date").alias("date")).join(per_session, "session_id", "left")
    counts = (dated.select("date", step_rows.alias("s")).groupBy("date", "s.step", "s.step_name")
              .agg(F.count(F.when(F.col("s.reached"), 1)).alias("sessions_reached")))
    by_step = Window.partitionBy("date").orderBy("step")
    start = F.first("sessions_reached").over(by_step)
    before = F.lag("sessions_reached").over(by_step)
    return counts.select(
        "date", "step", "step_name", "sessions_reached",
        F.when(start > 0, F.col("sessions_reached") / start).alias("conversion_from_start"),
        F.when(before > 0, F.col("sessions_reached") / before).alias("step_conversion"))
