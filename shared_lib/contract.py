"""Event contracts: declarative field specs, and the parser that splits bronze rows into typed,
clean events and quarantined messages, each with one reason from the closed list of events.md.

A product declares its ``Contract`` (a tuple of ``Field``); ``validate`` is a pure function of a
bronze DataFrame that returns one row per message: the Kafka coordinates, a typed column per
field and ``reason`` (null for a clean event). The first failing check wins, in this order:
``too_large``, ``malformed_json``, then field by field in declaration order: ``missing_field:f``,
``bad_type:f`` (``bad_timestamp`` for the timestamp), ``bad_value:f`` (``future_timestamp``).

Rules shared by every product (events.md):

- The JSON is parsed as a Spark VARIANT, so the JSON type of each value is known exactly.
  Duplicate keys make a message ``malformed_json``. (The fields of a valid message are then read
  by ``from_json`` into variants of their own, which is faster than looking each one up.)
- A JSON ``null`` and an empty or blank string count as absent.
- Numbers given as numeric strings are accepted; ``true``/``false`` are never numbers.
- A field with ``on_bad_value="null"`` has an out-of-domain value nulled instead of quarantined.
- Unknown fields are ignored (they stay in bronze).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType, VariantType

MAX_MESSAGE_BYTES = 1024 * 1024
FUTURE_TOLERANCE_HOURS = 24
KINDS = ("string", "integer", "number", "timestamp", "object", "boolean", "string_array")

# The closed list of quarantine reasons (events.md); field reasons carry ":<field>".
TOO_LARGE, MALFORMED_JSON = "too_large", "malformed_json"
BAD_TIMESTAMP, FUTURE_TIMESTAMP = "bad_timestamp", "future_timestamp"
FIELD_REASONS = ("missing_field", "bad_type", "bad_value")
# The same list as a SQL check, for the quarantine table's CHECK constraint.
REASON_CHECK = ("reason IN ('too_large', 'malformed_json', 'bad_timestamp', 'future_timestamp') "
                "OR reason RLIKE '^(missing_field|bad_type|bad_value):[a-z_]+$'")

# Kafka coordinates and ingestion metadata carried from bronze onto every output row.
BRONZE_COLUMNS = ("topic", "partition", "offset", "kafka_ts", "ingested_at", "ingest_date")

_NUMERIC_TEXT = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_EPOCH_MS_TEXT = r"^\s*\d{1,15}\s*$"
# ISO-8601 date-time with seconds optional, fractions up to nanoseconds, and a mandatory zone.
_ISO_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_NUMERIC_TYPES = ("BIGINT", "INT", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT")
# Epoch milliseconds accepted: years 1970 to 9999.
_MAX_EPOCH_MS = 253402300799999


@dataclass(frozen=True)
class Field:
    """One field of an event contract.

    ``required_if=("event_type", "purchase")`` makes a field required for that value of another
    (already validated) field. Domain checks apply after ``normalize``: ``values`` (allowed set),
    ``min_length``/``max_length`` (strings), ``minimum``/``maximum`` (numbers), ``pattern``
    (a Java regex the string must match). ``default`` fills an absent value.
    """
    name: str
    kind: str = "string"
    required: bool = False
    required_if: tuple[str, str] | None = None
    values: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    normalize: Callable[[Column], Column] | None = None
    on_bad_value: str = "quarantine"  # or "null"
    default: object = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name!r}: unknown kind {self.kind!r}; expected one of {KINDS}")
        if self.on_bad_value not in ("quarantine", "null"):
            raise ValueError(f"field {self.name!r}: on_bad_value must be 'quarantine' or 'null'")


@dataclass(frozen=True)
class Contract:
    """An event contract: its fields, and which one is the event time."""
    fields: tuple[Field, ...]
    ts_field: str = "event_ts"
    id_field: str = "event_id"

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def validate(bronze: DataFrame, contract: Contract) -> DataFrame:
    """Bronze rows -> coordinates, ``value``, ``reason`` and one typed column per field.

    Typed columns are null where the message was quarantined before reaching them."""
    too_large = F.octet_length("value") > MAX_MESSAGE_BYTES
    parsed = bronze.select(
        *BRONZE_COLUMNS, "value",
        F.when(too_large, F.lit(TOO_LARGE)).alias("_early"),
        # A parse is skipped for oversized messages: they are quarantined as too_large anyway.
        F.when(~too_large & F.col("value").rlike(r"^\s*\{"), F.try_parse_json("value")).alias("_json"))
    parsed = parsed.withColumn("_early", F.coalesce(
        "_early", F.when(F.col("_json").isNull(), F.lit(MALFORMED_JSON))))
    # One projection per stage, each intermediate a named column: the checks of a field use its
    # text and its typed value several times, and Spark then computes each once per row instead
    # of once per use (a timestamp parse repeated in every branch made validation 3x slower).
    fields = contract.fields
    # The fields are read from the message by from_json, twice (as variants and as text), not
    # looked up in ``_json``: a variant lookup decodes the object's keys one by one, and a
    # variant cast to a string builds expression objects for every value; on 1M web events
    # that made the raws and texts 15 s against 9 s. ``_json`` still decides what is valid
    # JSON (duplicate keys included); from_json reads only what it accepted. The text is used
    # only where the JSON type is STRING, and from_json then gives the same unescaped string.
    valid = F.col("_json").isNotNull()
    raws = parsed.select(
        "*", F.when(valid, F.from_json("value", _fields_schema(fields, VariantType()))).alias("_raws"),
        F.when(valid, F.from_json("value", _fields_schema(fields, StringType()))).alias("_texts"))
    texts = raws.select("*", *[c for f in fields for c in (
        F.col("_raws")[f.name].alias(f"_raw_{f.name}"),
        F.schema_of_variant(F.col("_raws")[f.name]).alias(f"_type_{f.name}"),
        F.col("_texts")[f.name].alias(f"_text_{f.name}"))])
    typed = texts.select("*", *[c for f in fields for c in _typed_columns(f)])
    # Values first, then reasons: a field may be required depending on another's value.
    kept = typed.select("*", *[_kept(f, contract).alias(f.name) for f in fields])
    checked = kept.select(*BRONZE_COLUMNS, "value", F.coalesce(
        "_early", *[_reason(f, contract) for f in fields]).alias("reason"), *[f.name for f in fields])
    # A field's value is kept only for clean events, so no half-validated value leaks out.
    reason = F.col("reason")
    return checked.select(
        *BRONZE_COLUMNS, "value", reason,
        *[F.when(reason.isNull(), F.col(f.name)).alias(f.name) for f in fields])


def _fields_schema(fields: tuple[Field, ...], data_type) -> StructType:
    return StructType([StructField(f.name, data_type) for f in fields])


def _typed_columns(fld: Field) -> tuple[Column, Column, Column]:
    """The field's typed value (normalized), whether its JSON type fits the kind, and whether it
    is present, as ``_value_<f>``, ``_typeok_<f>``, ``_present_<f>``."""
    raw, vtype, text = F.col(f"_raw_{fld.name}"), F.col(f"_type_{fld.name}"), F.col(f"_text_{fld.name}")
    blank = (vtype == "STRING") & (F.trim(text) == "")
    present = raw.isNotNull() & ~F.is_variant_null(raw) & ~blank
    value, type_ok = _typed(fld, raw, vtype, text)
    if fld.normalize is not None:
        value = fld.normalize(value)
    return (value.alias(f"_value_{fld.name}"), type_ok.alias(f"_typeok_{fld.name}"),
            present.alias(f"_present_{fld.name}"))


def _bad_value_quarantines(fld: Field, contract: Contract) -> bool:
    return fld.on_bad_value == "quarantine" or fld.name == contract.ts_field


def _domain_ok(fld: Field, contract: Contract) -> Column:
    value = F.col(f"_value_{fld.name}")
    if fld.name == contract.ts_field:
        return value <= F.col("ingested_at") + F.expr(f"INTERVAL {FUTURE_TOLERANCE_HOURS} HOURS")
    return _domain(fld, value)


def _kept(fld: Field, contract: Contract) -> Column:
    """The field's value when it passes its checks (an absent one gets the default), else null."""
    value, present = F.col(f"_value_{fld.name}"), F.col(f"_present_{fld.name}")
    keep = present & F.col(f"_typeok_{fld.name}")
    if not _bad_value_quarantines(fld, contract):  # an out-of-domain value is nulled instead
        keep = keep & _domain_ok(fld, contract)
    kept = F.when(keep, value)
    if fld.default is not None:
        kept = F.when(~present, F.lit(fld.default)).otherwise(kept)
    return kept


def _reason(fld: Field, contract: Contract) -> Column:
    """The field's quarantine reason, or null; ``required_if`` looks at the other field's kept value."""
    present, type_ok = F.col(f"_present_{fld.name}"), F.col(f"_typeok_{fld.name}")
    required = F.lit(fld.required)
    if fld.required_if is not None:
        other, wanted = fld.required_if
        required = F.col(other) == F.lit(wanted)
    if fld.name == contract.ts_field:
        type_reason, value_reason = BAD_TIMESTAMP, FUTURE_TIMESTAMP
    else:
        type_reason, value_reason = f"bad_type:{fld.name}", f"bad_value:{fld.name}"
    reason = (F.when(~present & F.coalesce(required, F.lit(False)), F.lit(f"missing_field:{fld.name}"))
              .when(present & ~type_ok, F.lit(type_reason)))
    if _bad_value_quarantines(fld, contract):
        reason = reason.when(present & ~_domain_ok(fld, contract), F.lit(value_reason))
    return reason


def _typed(fld: Field, raw: Column, vtype: Column, text: Column) -> tuple[Column, Column]:
    """(value cast to the field's kind, whether the JSON type fits the kind)."""
    if fld.kind == "string":
        return F.when(vtype == "STRING", text), vtype == "STRING"
    if fld.kind == "object":
        return F.when(vtype.startswith("OBJECT"), F.to_json(raw)), vtype.startswith("OBJECT")
    if fld.kind == "boolean":
        value = F.when(vtype == "BOOLEAN", F.try_variant_get(raw, "$", "boolean"))
        return value, vtype == "BOOLEAN"
    if fld.kind == "string_array":  # a JSON array of strings only ([] is ARRAY<VOID>)
        ok = vtype.isin("ARRAY<STRING>", "ARRAY<VOID>")
        return F.when(ok, F.try_variant_get(raw, "$", "array<string>")), ok
    if fld.kind == "timestamp":
        value = _timestamp(raw, vtype, text)
        return value, value.isNotNull()
    number = (F.when(vtype.isin(*_NUMERIC_TYPES) | vtype.startswith("DECIMAL"),
                     F.try_variant_get(raw, "$", "double"))
              .when((vtype == "STRING") & text.rlike(_NUMERIC_TEXT), F.trim(text).try_cast("double")))
    if fld.kind == "number":
        return number, number.isNotNull()
    # Beyond 2**53 a double no longer holds every integer exactly.
    integral = F.coalesce(F.when(F.abs(number) < 2 ** 53, number == F.floor(number)), F.lit(False))
    return F.when(integral, number.cast("bigint")), integral


def _timestamp(raw: Column, vtype: Column, text: Column) -> Column:
    """ISO-8601 with a zone (converted to UTC) or integer epoch milliseconds; else null."""
    millis = (F.when(vtype.isin("BIGINT", "INT", "SMALLINT", "TINYINT"), F.try_variant_get(raw, "$", "bigint"))
              .when((vtype == "STRING") & text.rlike(_EPOCH_MS_TEXT), F.trim(text).try_cast("bigint")))
    iso = F.upper(F.trim(text))
    # Seconds are optional in ISO-8601 but not in Spark's parser: add ":00" when absent.
    iso = F.regexp_replace(iso, r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?=Z|[+-])", "$1:00")
    return (F.when(millis.between(0, _MAX_EPOCH_MS), F.timestamp_millis(millis))
            .when((vtype == "STRING") & F.upper(F.trim(text)).rlike(_ISO_TS), F.try_to_timestamp(iso)))


def _domain(fld: Field, value: Column) -> Column:
    ok = F.lit(True)
    if fld.values:
        ok = ok & value.isin(*fld.values)
    if fld.min_length is not None:
        ok = ok & (F.length(value) >= fld.min_length)
    if fld.max_length is not None:
        ok = ok & (F.length(value) <= fld.max_length)
    if fld.minimum is not None:
        ok = ok & (value >= F.lit(fld.minimum))
    if fld.maximum is not None:
        ok = ok & (value <= F.lit(fld.maximum))
    if fld.pattern is not None:
        ok = ok & value.rlike(fld.pattern)
    return F.coalesce(ok, F.lit(False))


def clean(validated: DataFrame) -> DataFrame:
    return validated.where(F.col("reason").isNull()).drop("reason", "value")


def quarantined(validated: DataFrame, contract: Contract, max_value_chars: int = 65536) -> DataFrame:
    """Quarantine rows: coordinates, reason, the event id when one could be read, and the raw
    value cut to ``max_value_chars`` (bronze keeps it whole for reprocessing)."""
    event_id = F.get_json_object("value", f"$.{contract.id_field}")
    return validated.where(F.col("reason").isNotNull()).select(
        *BRONZE_COLUMNS, "reason",
        F.when(F.col("reason") != TOO_LARGE, event_id).alias("event_id"),
        F.substring("value", 1, max_value_chars).alias("value"),
        F.coalesce(F.octet_length("value"), F.lit(0)).cast("int").alias("value_bytes"))


# Officially assigned ISO-3166-1 alpha-2 codes (user-assigned codes such as ZZ are not countries).
COUNTRIES = tuple("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

# ISO-4217 currency codes, including funds and precious metals, and a few recently withdrawn.
CURRENCIES = tuple("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU
MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD
RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD
XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL
""".split())


def upper_trimmed(col: Column) -> Column:
    return F.upper(F.trim(col))


def lower_trimmed(col: Column) -> Column:
    return F.lower(F.trim(col))
