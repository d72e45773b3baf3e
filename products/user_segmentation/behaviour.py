"""Churn risk and behavioural tags of every customer, from ``customer_features`` (pure functions
on DataFrames; the ``rfm`` step writes them beside the segments).

churn_risk = 0.4 * recency_days / 365 + 0.3 * (1 - min(1, frequency / 10))
             + 0.2 * (1 - min(1, monetary / 1000)) + 0.1 * (1 - min(1, customer_age_days / 365)),
clipped to [0, 1]. Its level: High at or above ``churn.at_risk`` (the at-risk list), Medium at or
above ``churn.medium``, else Low.

Tags, each threshold a parameter (first match wins):
- engagement: avg_session_time_s > 500 High, > 200 Medium, else Low (no session: Low);
- purchase_pattern: repeat_purchase_rate > 0.7 Repeater, > 0.3 Occasional, else One-time;
- value: monetary > 2000 High, > 500 Medium, else Low;
- lifecycle: customer_age_days < 30 New, < 180 Growing, is_active Established, else Dormant.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

RISK_LEVELS = ("High", "Medium", "Low")
TAGS = {"engagement_level": ("High", "Medium", "Low"),
        "purchase_pattern": ("Repeater", "Occasional", "One-time"),
        "value_tier": ("High", "Medium", "Low"),
        "lifecycle_stage": ("New", "Growing", "Established", "Dormant")}
RISK_BANDS = 10  # the distribution's bands: [0, 0.1), [0.1, 0.2) ... [0.9, 1]


@dataclass(frozen=True)
class Thresholds:
    at_risk: float = 0.7
    medium_risk: float = 0.4
    engagement_high_s: float = 500
    engagement_medium_s: float = 200
    repeater_rate: float = 0.7
    occasional_rate: float = 0.3
    value_high: float = 2000
    value_medium: float = 500
    new_days: int = 30
    growing_days: int = 180


def thresholds(own: dict) -> Thresholds:
    """The thresholds of the parameters ``churn`` and ``tags`` (defaults for those absent); an
    error names a value that is not a number or thresholds out of order."""
    churn, tags = own.get("churn") or {}, own.get("tags") or {}
    given = {"at_risk": churn.get("at_risk"), "medium_risk": churn.get("medium"),
             "engagement_high_s": (tags.get("engagement") or {}).get("high_s"),
             "engagement_medium_s": (tags.get("engagement") or {}).get("medium_s"),
             "repeater_rate": (tags.get("purchase_pattern") or {}).get("repeater"),
             "occasional_rate": (tags.get("purchase_pattern") or {}).get("occasional"),
             "value_high": (tags.get("value") or {}).get("high"),
             "value_medium": (tags.get("value") or {}).get("medium"),
             "new_days": (tags.get("lifecycle") or {}).get("new_days"),
             "growing_days": (tags.get("lifecycle") or {}).get("growing_days")}
    for name, value in given.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"user-segmentation churn/tags threshold {name} must be a number, got {value!r}")
    t = Thresholds(**{k: v for k, v in given.items() if v is not None})
    pairs = [("churn.medium", t.medium_risk, "churn.at_risk", t.at_risk),
             ("tags.engagement.medium_s", t.engagement_medium_s, "tags.engagement.high_s", t.engagement_high_s),
             ("tags.purchase_pattern.occasional", t.occasional_rate, "tags.purchase_pattern.repeater", t.repeater_rate),
             ("tags.value.medium", t.value_medium, "tags.value.high", t.value_high),
             ("tags.lifecycle.new_days", t.new_days, "tags.lifecycle.growing_days", t.growing_days)]
    for low_name, low, high_name, high in pairs:
        if low > high:
            raise ValueError(f"user-segmentation.{low_name} ({low}) must not be above {high_name} ({high})")
    return t


def churn_risk(recency_days: Column, frequency: Column, monetary: Column, age_days: Column) -> Column:
    def capped(col: Column, scale: float) -> Column:
        return F.least(F.lit(1.0), col / scale)

    raw = (0.4 * (recency_days / 365.0) + 0.3 * (1 - capped(frequency, 10.0))
           + 0.2 * (1 - capped(monetary, 1000.0)) + 0.1 * (1 - capped(age_days, 365.0)))
    return F.greatest(F.lit(0.0), F.least(F.lit(1.0), raw))


def _level(value: Column, cuts: list[tuple[float, str]], otherwise: str, strict: bool = True) -> Column:
    expr = None
    for cut, name in cuts:
        cond = value > cut if strict else value >= cut
        expr = F.when(cond, name) if expr is None else expr.when(cond, name)
    assert expr is not None
    return expr.otherwise(otherwise)


def behaviour(features: DataFrame, segments: DataFrame, t: Thresholds) -> DataFrame:
    """``customer_behaviour`` rows: per customer of ``features`` (one snapshot), their RFM
    segment (from ``segments``), churn risk and its level, and the four tags."""
    risk = churn_risk(F.col("recency_days"), F.col("frequency"), F.col("monetary"), F.col("customer_age_days"))
    lifecycle = (F.when(F.col("customer_age_days") < t.new_days, "New")
                 .when(F.col("customer_age_days") < t.growing_days, "Growing")
                 .when(F.col("is_active"), "Established").otherwise("Dormant"))
    return (features.join(segments.select("snapshot_date", "user_id", "segment"), ["snapshot_date", "user_id"])
            .withColumn("churn_risk", risk)
            .select("snapshot_date", "user_id", "segment", "churn_risk",
                    _level(F.col("churn_risk"), [(t.at_risk, "High"), (t.medium_risk, "Medium")], "Low",
                           strict=False).alias("churn_risk_level"),
                    _level(F.coalesce("avg_session_time_s", F.lit(0.0)),
                           [(t.engagement_high_s, "High"), (t.engagement_medium_s, "Medium")], "Low")
                    .alias("engagement_level"),
                    _level(F.col("repeat_purchase_rate"),
                           [(t.repeater_rate, "Repeater"), (t.occasional_rate, "Occasional")], "One-time")
                    .alias("purchase_pattern"),
                    _level(F.col("monetary"), [(t.value_high, "High"), (t.value_medium, "Medium")], "Low")
                    .alias("value_tier"),
                    lifecycle.alias("lifecycle_stage"),
                    "recency_days", "frequency", "monetary", "customer_age_days", "days_since_last_activity"))


def risk_distribution(rows: DataFrame) -> DataFrame:
    """``churn_distribution``: customers per snapshot x segment x band of churn risk (band b holds
    risks in [b/10, (b+1)/10), the last band also 1.0), with the band's mean risk."""
    band = F.least(F.floor(F.col("churn_risk") * RISK_BANDS), F.lit(RISK_BANDS - 1)).cast("int")
    return (rows.withColumn("band", band).groupBy("snapshot_date", "segment", "band")
            .agg(F.count("*").alias("customers"), F.avg("churn_risk").alias("avg_churn_risk"))
            .select("snapshot_date", "segment", "band", (F.col("band") / RISK_BANDS).alias("risk_from"),
                    ((F.col("band") + 1) / RISK_BANDS).alias("risk_to"), "customers", "avg_churn_risk"))


def tag_counts(rows: DataFrame) -> DataFrame:
    """``tag_counts``: customers per snapshot x tag x value, with their churn-risk level."""
    stacked = F.explode(F.array(*[F.struct(F.lit(tag).alias("tag"), F.col(tag).alias("value")) for tag in TAGS]
                                + [F.struct(F.lit("churn_risk_level").alias("tag"),
                                            F.col("churn_risk_level").alias("value"))]))
    return (rows.select("snapshot_date", stacked.alias("t")).groupBy("snapshot_date", "t.tag", "t.value")
            .agg(F.count("*").alias("customers")))
