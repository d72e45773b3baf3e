"""The pure parts of `dp bench`: the registry and `--only`, the sizes, the report writer, and the
bronze -> gold specs with their cross-check against gold."""
import dataclasses

import pytest

from runners import bench
from runners.bench import bronze_gold, registry, report, up_to_date
from runners.bench import gateway as gateway_bench
from runners.bench.load import Load
from runners.bench.measure import with_prefix
from runners.bench.sizes import FULL, QUICK, Sizes
from shared_lib import products

NAMES = ["runner overhead", "kafka -> bronze", "web bronze -> gold", "mobile bronze -> gold",
         "compliance bronze -> gold", "segmentation", "dashboard first render", "api latency", "gateway latency",
         "whole DAG reruns", "erasure"]


# --- the registry ---------------------------------------------------------------------------

def test_the_registry_lists_the_benchmarks_in_the_order_they_run():
    assert list(registry.BENCHMARKS) == NAMES
    assert registry.select(None) == NAMES
    assert registry.select([]) == NAMES


def test_only_picks_the_named_benchmarks_in_registry_order():
    assert registry.select(["segmentation", "runner overhead"]) == ["runner overhead", "segmentation"]


def test_only_with_an_unknown_name_is_an_error_listing_every_name():
    with pytest.raises(registry.UnknownBenchmark) as error:
        registry.select(["web bronze -> gold", "web -> gold"])
    assert str(error.value) == ("unknown benchmark(s) web -> gold: expected runner overhead, kafka -> bronze, "
                                "web bronze -> gold, mobile bronze -> gold, compliance bronze -> gold, segmentation, "
                                "dashboard first render, api latency, gateway latency, whole DAG reruns, erasure")


def test_dp_bench_refuses_an_unknown_name_before_starting_anything(capsys):
    assert bench.main(only=["nope"]) == 2
    assert capsys.readouterr().err.startswith("dp bench: unknown benchmark(s) nope: expected runner overhead, ")


# --- the sizes ------------------------------------------------------------------------------

def test_quick_and_full_sizes():
    assert Sizes.of(quick=True) == QUICK == Sizes(
        events=20_000, web_events=50_000, mobile_events=50_000, compliance_events=50_000, customers=10_000,
        warm_up_events=5_000, ours_runs=2, baseline_runs=1, api_requests=3_000, dag_events=2_000)
    assert Sizes.of() == FULL == Sizes(
        events=200_000, web_events=1_000_000, mobile_events=1_000_000, compliance_events=1_000_000,
        customers=100_000, warm_up_events=50_000, ours_runs=5, baseline_runs=3, api_requests=20_000,
        dag_events=20_000)


def test_an_explicit_size_wins_over_quick_and_none_means_the_default():
    sizes = Sizes.of(quick=True, web_events=7, customers=None, warm_up_events=0)
    assert sizes == dataclasses.replace(QUICK, web_events=7, warm_up_events=0)


@pytest.mark.parametrize("given, message", [
    ({"events": 0}, "--events must be > 0, got 0"),
    ({"mobile_events": -5}, "--mobile-events must be > 0, got -5"),
    ({"compliance_events": 0}, "--compliance-events must be > 0, got 0"),
    ({"warm_up_events": -1}, "--warm-up-events must be >= 0, got -1"),
])
def test_a_size_out_of_range_names_its_option(given, message):
    with pytest.raises(ValueError) as error:
        Sizes.of(**given)
    assert str(error.value) == message


def test_a_size_the_dataclass_does_not_have_is_a_type_error():
    with pytest.raises(TypeError, match="no field.* webevents"):
        Sizes.of(webevents=3)


# --- the report -----------------------------------------------------------------------------

MACHINE = {"timestamp": "2026-01-02T03:04:05+00:00", "cpu_count": 2, "memory_gib": 23.4,
           "memory_available_gib": 20.1, "load_avg_1m": 1.5, "python": "3.11.9", "java": 17,
           "pyspark": "4.2.0", "delta_jar": "4.4.0", "platform": "Linux"}


def test_a_figure_meets_its_target_or_not():
    assert report.figure("t", 1.23456, "s", at_most=2) == {
        "name": "t", "value": 1.235, "unit": "s", "target": "<= 2 s", "met": True, "notes": ""}
    assert report.figure("r", 20_000, "events/s", at_least=25_000)["met"] is False
    assert report.figure("x", 3, "x", samples=[1.0001, 2])["samples"] == [1.0, 2]
    assert report.figure("x", 3, "x")["target"] is None


def test_the_report_renders_each_figure_as_a_row_and_says_what_was_missed():
    results = [
        {"benchmark": "runner overhead", "error": None, "figures": [
            report.figure("runner, empty notebook (median)", 1.5, "s", at_most=2, notes="warm kernels"),
            report.figure("baseline / runner", 6.25, "x")]},
        {"benchmark": "kafka -> bronze", "error": None, "figures": [
            report.figure("Kafka -> bronze, cold (20,000 events)", 12_345.678, "events/s", at_least=25_000)]},
        {"benchmark": "segmentation", "error": "BenchError: run x did not succeed\nTraceback ...", "figures": []},
    ]
    markdown = report.to_markdown({"machine": MACHINE, "load_avg_1m_end": 2.25, "quick": True, "results": results})
    assert markdown.splitlines() == [
        "# dp bench (quick)",
        "",
        ("2026-01-02T03:04:05+00:00 · 2 CPUs, 23.4 GiB (20.1 GiB free), load 1.5 at start, 2.25 at end · "
         "Python 3.11.9, Java 17, Spark 4.2.0, Delta 4.4.0 · Linux"),
        "",
        "| benchmark | figure | value | target | met | notes |",
        "|---|---|---:|---|---|---|",
        "| runner overhead | runner, empty notebook (median) | 1.50 s | <= 2 s | yes | warm kernels |",
        "| runner overhead | baseline / runner | 6.25 x | – | – |  |",
        ("| kafka -> bronze | Kafka -> bronze, cold (20,000 events) | 12,345.68 events/s | >= 25000 events/s "
         "| **no** |  |"),
        "| segmentation | **crashed** | | | | BenchError: run x did not succeed |",
        "",
        "Targets missed: Kafka -> bronze, cold (20,000 events).",
        "Could not measure: segmentation.",
    ]


def test_a_report_with_every_target_met_says_so():
    results = [{"benchmark": "b", "error": None, "figures": [report.figure("f", 1, "s", at_most=2)]}]
    markdown = report.to_markdown({"machine": MACHINE, "load_avg_1m_end": 1, "quick": False, "results": results})
    assert markdown.startswith("# dp bench (full)\n")
    assert markdown.endswith("\n\nAll targets met.\n")


# --- bronze -> gold: the specs and the cross-check ------------------------------------------

def test_every_bronze_to_gold_spec_is_a_registered_benchmark():
    assert list(bronze_gold.SPECS) == ["web bronze -> gold", "mobile bronze -> gold", "compliance bronze -> gold"]
    assert set(bronze_gold.SPECS) <= set(registry.BENCHMARKS)
    assert {spec.size for spec in bronze_gold.SPECS.values()} == {"web_events", "mobile_events", "compliance_events"}


@pytest.mark.parametrize("name", list(bronze_gold.SPECS))
def test_a_spec_s_floor_computes_every_gold_table_of_its_product_keyed_by_declared_columns(name):
    spec = bronze_gold.SPECS[name]
    floor = spec.floor_module()
    product = products.get(spec.product)
    gold = {t.name for t in product.tables if t.layer == "gold"} - {"refreshes"}  # the gold step's bookkeeping
    assert set(floor.GOLD_KEYS) == gold
    for table, keys in floor.GOLD_KEYS.items():
        assert set(keys) <= {c.name for c in product.table(table).columns}, table


@pytest.mark.parametrize("name", list(bronze_gold.SPECS))
def test_a_spec_s_id_fields_are_in_its_generator_s_events(name):
    spec = bronze_gold.SPECS[name]
    values = [value for _, value in bronze_gold.messages(dataclasses.replace(spec, block_events=None), 200)]
    for field in spec.id_fields:
        assert any(field in value for value in values), field


def test_copies_of_a_block_get_ids_of_their_own():
    spec = dataclasses.replace(bronze_gold.WEB, block_events=10)
    messages = bronze_gold.messages(spec, 25)
    assert len(messages) == 25
    first = messages[0]
    assert first[0].startswith(b"wb0-") and b'"event_id":"wb0-' in first[1]
    assert messages[10] == (first[0].replace(b"wb0-", b"wb1-"), first[1].replace(b"wb0-", b"wb1-"))
    assert messages[24] == tuple(part.replace(b"wb0-", b"wb2-") for part in messages[4])


def test_a_prefix_goes_before_every_id_and_the_key():
    message = (b"v1", b'{"event_id":"e1","anonymous_id":"v1","page_url":"/x"}')
    assert with_prefix(message, b"wu-", (b'"event_id":"', b'"anonymous_id":"')) == (
        b"wu-v1", b'{"event_id":"wu-e1","anonymous_id":"wu-v1","page_url":"/x"}')
    assert with_prefix((None, b"not json"), b"wu-", (b'"event_id":"',)) == (None, b"not json")


# --- the gateway's added latency -------------------------------------------------------------

def load_of(latencies_ms: list[float], elapsed_s: float, failed: int = 0) -> Load:
    return Load(latencies_ms, {200: len(latencies_ms) - failed, **({0: failed} if failed else {})}, elapsed_s)


def test_the_gateway_figures_are_both_sides_and_the_difference():
    direct = load_of([2.0] * 99 + [10.0], elapsed_s=0.5)  # 100 requests in 0.5 s
    through = load_of([5.0] * 99 + [20.0], elapsed_s=1.0, failed=1)
    got = {f["name"]: f["value"] for f in gateway_bench.figures(direct, through, 100)}
    assert got["trivial upstream direct, p50"] == 2.0
    assert got["trivial upstream through the gateway, p50"] == 5.0
    assert got["trivial upstream direct, requests/s"] == 200.0
    assert got["trivial upstream through the gateway, requests/s"] == 100.0
    assert got["gateway added latency, p50"] == 3.0
    # p99 of 99 x a and 1 x b, linearly interpolated: a + 0.01 * (b - a)
    assert got["gateway added latency, p99"] == pytest.approx((5.0 + 0.15) - (2.0 + 0.08))
    assert (got["failed requests, direct"], got["failed requests, through the gateway"]) == (0, 1)


def test_the_gateway_benchmark_alone_starts_no_services():
    assert registry.WITHOUT_SERVICES == {"gateway latency"}


# --- the whole-DAG split ----------------------------------------------------------------------

def test_the_whole_dag_split_names_each_notebook_with_its_product_status_and_rows():
    records = [{"product": "web-user-analytics", "notebook": "gold", "status": "succeeded", "duration_s": 12.5,
                "rows_written": 40},
               {"product": "compliance-auditing", "notebook": "gold", "status": "up_to_date", "duration_s": 0.0,
                "rows_written": None}]
    got = up_to_date._split(records, "1 % new data")
    assert [(f["name"], f["value"], f["unit"], f["notes"], f["target"]) for f in got] == [
        ("web-user-analytics/gold (1 % new data)", 12.5, "s", "succeeded, 40 rows written", None),
        ("compliance-auditing/gold (1 % new data)", 0.0, "s", "up_to_date", None)]
