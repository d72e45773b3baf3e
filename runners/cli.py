"""The ``dp`` command. Each subcommand is a thin shell over a module of ``runners`` or
``shared_lib``. Errors that a user can fix (``shared_lib.errors.UserError``) end as one line on
stderr and exit code 2; anything else is a bug and shows its traceback (exit code 1)."""
# PYTHON_ARGCOMPLETE_OK
from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from shared_lib import params as params_lib
from shared_lib import paths

EPILOG = """environment: DP_ENV (default dev), DP_HOME (workspace, default <checkout>/.dp),
DP_REPORTS (default <checkout>/reports), ports: DP_KAFKA_PORT, DP_KAFKA_CONTROLLER_PORT,
DP_SPARK_PORT, DP_SPARK_UI_PORT, DP_SERVE_PORT, DP_METRICS_PORT."""


def _params(args) -> dict:
    return params_lib.load(getattr(args, "env", None), getattr(args, "param", None) or ())


def cmd_up(args) -> int:
    from runners import services
    params = _params(args)
    print(f"starting services of workspace {paths.workspace()} ...")
    for line in services.up(params, args.service or None):
        print(line)
    return 0


def cmd_down(args) -> int:
    from runners import serve, services
    lines = services.down(args.service or None)
    if not args.service:  # a `dp serve --background` of this workspace goes down with the rest
        lines = serve.stop() + lines
    for line in lines:
        print(line)
    return 0


def cmd_status(args) -> int:
    from runners import serve, services
    params = _params(args)
    rows = services.status(params)
    served = serve.status(params)  # optional servers: shown, but not needed for exit code 0
    if args.json:
        print(json.dumps([{**r.__dict__, "log": str(r.log)} for r in rows + served], indent=2))
    else:
        print(f"workspace {paths.workspace()}")
        for r in rows + served:
            pid = f"pid {r.pid}" if r.pid else ""
            print(f"  {r.name:<10} {r.state:<8} {r.address:<22} {pid:<12} log {r.log}")
            if r.detail:
                print("             " + r.detail.replace("\n", "\n             "))
    return 0 if all(r.state == "running" for r in rows) else 1


def cmd_generate(args) -> int:
    from runners import generate, services
    params = _params(args)
    services.require_running(params, ["kafka"])
    generate.generate(params, args.product, args.events, args.seed)
    return 0


def cmd_produce(args) -> int:
    from runners import generate, services
    params = _params(args)
    topic = generate.choose_topic(params, args.product, args.topic)  # a wrong --topic fails first
    services.require_running(params, ["kafka"])
    generate.produce(params, args.product, Path(args.file), topic=topic)
    return 0


def cmd_run(args) -> int:
    from runners import run
    summary = run.run(products=args.product, layer=args.layer, notebook=args.notebook, env=args.env,
                      overrides=args.param or (), force=args.force)
    return 0 if summary.ok else 1


def cmd_schedule(args) -> int:
    from runners import schedule, services
    services.require_running(_params(args))
    if args.once:
        results = schedule.run_due(args.env)
        if not results:
            print("schedule: nothing is due")
        return 0 if all(ok for _, ok in results) else 1
    schedule.loop(args.env)
    return 0


def cmd_catalog(args) -> int:
    from shared_lib import catalog
    items = catalog.entries()
    print(json.dumps(items, indent=2) if args.json else catalog.format_text(items))
    return 0


def cmd_runs(args) -> int:
    from runners import runlog
    df = runlog.read(args.limit)
    if args.json:
        print(df.to_json(orient="records", date_format="iso", indent=2))
        return 0
    if df.empty:
        print("no runs recorded yet (dp run)")
        return 0
    cols = ["run_id", "product", "notebook", "status", "attempts", "duration_s", "rows_written", "error"]
    print(df[cols].to_string(index=False, max_colwidth=60))
    return 0


def cmd_bench(args) -> int:
    from runners import bench
    return bench.main(quick=args.quick, events=args.events, web_events=args.web_events,
                      customers=args.customers, only=args.only, mobile_events=args.mobile_events,
                      compliance_events=args.compliance_events,
                      warm_up_events=args.warm_up_events)


def cmd_serve(args) -> int:
    from runners import serve
    if args.stop:
        for line in serve.stop():
            print(line)
        return 0
    return serve.serve(_params(args), background=args.background)


def cmd_demo_summary(args) -> int:
    from runners import runlog
    from shared_lib import lake, products
    print("\n== demo ==")
    for table in (t for product in products.all_products().values() for t in product.tables):
        if lake.exists(table):
            print(f"  {table.qualified_name:<40} v{lake.version(table):<4} {lake.count_rows(table):>9} rows")
    runs = runlog.read(20)
    if not runs.empty:
        last = runs.iloc[0]["run_id"]
        print(f"  last run {last}: executed notebooks and HTML in {paths.run_reports_dir(last)}")
    print("  JupyterLab (open notebooks/ with the same kernel): .venv/bin/jupyter lab notebooks/")
    print("  run history: .venv/bin/dp runs    table catalog: .venv/bin/dp catalog")
    from runners import serve
    params = _params(args)
    print(f"  dashboards: .venv/bin/dp serve, then open {' '.join(serve.dashboard_addresses(params))}")
    print(f"  Prometheus metrics (same dp serve): {serve.base_url(params, serve.METRICS)}/metrics")
    print("  stop the services: .venv/bin/dp down")
    return 0


def cmd_dsar(args) -> int:
    from shared_lib.dsar import access, erase
    params = _params(args)
    subject = erase.check_subject(args.subject)
    if args.action == "access":
        if args.reason:
            print("dp dsar access: --reason applies to erase only", file=sys.stderr)
            return 2
        access.access(params, subject, Path(args.out) if args.out else None)
        return 0
    if args.out:
        print("dp dsar erase: --out applies to access only", file=sys.stderr)
        return 2
    for line in erase.report_lines(erase.erase(params, subject, args.reason)):
        print(line)
    return 0


def _product_names(**_) -> list[str]:
    from shared_lib import products
    return sorted(products.all_products())


def _notebook_ids(**_) -> list[str]:
    from shared_lib import products
    return [nb.id for product in products.all_products().values() for nb in product.notebooks]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dp", description="Run the data platform: services, events, "
                                     "notebooks, catalog.", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"dp {version()}")
    parser.add_argument("--debug", action="store_true",
                        help="full tracebacks for every error, and debug log lines (each cell as it starts)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        # also after the command (dp run --debug); SUPPRESS keeps a `dp --debug run` as it is
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return p

    def with_env(p):
        p.add_argument("--env", help="parameter environment: dev, staging, prod (default DP_ENV or dev)")
        p.add_argument("-p", "--param", action="append", metavar="FILE.KEY=VALUE",
                       help="override a parameter, e.g. web-user-analytics.bronze.max_offsets_per_trigger=1000")
        return p

    for name, func, text in (("up", cmd_up, "start Kafka and Spark Connect (waits until ready)"),
                             ("down", cmd_down, "stop the services that dp up started")):
        p = with_env(add(name, func, text)) if name == "up" else add(name, func, text)
        p.add_argument("service", nargs="*", help="only these services: kafka, spark (default both)")
    p = with_env(add("status", cmd_status, "show the services (exit 1 unless all are running)"))
    p.add_argument("--json", action="store_true")
    p = with_env(add("generate", cmd_generate, "synthetic events for a product into its topic"))
    p.add_argument("product").completer = _product_names
    p.add_argument("--events", type=int, help="how many (default: the product's generate.events)")
    p.add_argument("--seed", type=int, help="random seed (default: the product's generate.seed)")
    p = with_env(add("produce", cmd_produce, "a JSON-lines file of events into the product's topic"))
    p.add_argument("product").completer = _product_names
    p.add_argument("--file", required=True, help="one JSON event per line")
    p.add_argument("--topic", help="which of the product's topics (a topic or its role, e.g. audit); "
                                   "required when the product has several")
    p = with_env(add("run", cmd_run, "run the notebook DAG, or the part named"))
    p.add_argument("--product", action="append", help="only this product (repeatable)").completer = _product_names
    p.add_argument("--layer", choices=list(paths.LAYERS))
    p.add_argument("--notebook", help="only this notebook: NAME or PRODUCT:NAME").completer = _notebook_ids
    p.add_argument("--force", action="store_true",
                   help="run notebooks even when an upstream notebook failed in this run")
    p = add("schedule", cmd_schedule, "run the DAG on the intervals of platform.schedules (Ctrl-C stops)")
    p.add_argument("--env", help="parameter environment (default DP_ENV or dev)")
    p.add_argument("--once", action="store_true", help="run what is due now, then exit (for cron)")
    p = add("catalog", cmd_catalog, "every table: location, columns, personal-data tags, owner, retention, version")
    p.add_argument("--json", action="store_true")
    p = add("runs", cmd_runs, "the run history (newest first)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p = add("bench", cmd_bench, "the benchmarks; writes reports/bench/bench.json and bench.md")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--events", type=int, help="events for the Kafka -> bronze benchmark "
                   "(default 200000, or 20000 with --quick)")
    p.add_argument("--web-events", type=int, help="events for the web bronze -> gold benchmark and its "
                   "DuckDB floor (default 1000000, or 50000 with --quick)")
    p.add_argument("--customers", type=int, help="customers for the segmentation benchmark "
                   "(default 100000, or 10000 with --quick)")
    p.add_argument("--mobile-events", type=int, help="events for the mobile bronze -> gold benchmark and "
                   "its DuckDB floor (default 1000000, or 50000 with --quick)")
    p.add_argument("--compliance-events", type=int, help="audit events for the compliance bronze -> gold "
                   "benchmark and its DuckDB floor (default 1000000, or 50000 with --quick)")
    p.add_argument("--warm-up-events", type=int, help="events of the first, unmeasured-for-target run "
                   "before each bronze -> gold benchmark, so that it meets a warmed-up server as a "
                   "scheduled run does (default 50000, or 5000 with --quick; 0: none)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this benchmark (repeatable): runner overhead, kafka -> bronze, "
                        "web bronze -> gold, mobile bronze -> gold, compliance bronze -> gold, segmentation, "
                        "dashboard first render, erasure")
    p = with_env(add("serve", cmd_serve, "serve the Voila dashboards of notebooks/dashboards/ (platform.serve, "
                                         "DP_SERVE_PORT) and the Prometheus exporter (platform.metrics, "
                                         "DP_METRICS_PORT) on 127.0.0.1; Ctrl-C stops"))
    p.add_argument("--background", action="store_true",
                   help="leave running in the background (pid file and log in the workspace)")
    p.add_argument("--stop", action="store_true", help="stop what dp serve --background started")
    p = with_env(add("dsar", cmd_dsar, "data-subject requests: export every row of a subject (access) or "
                                       "erase it everywhere, history included (erase)"))
    p.add_argument("action", choices=["access", "erase"])
    p.add_argument("subject", help="the subject's id (a web anonymous_id or user_id, a mobile device_id or "
                                   "user_id); the ids linked to it are included")
    p.add_argument("--out", help="access: the folder of the export (default reports/dsar/<request id>)")
    p.add_argument("--reason", help="erase: the requester's reason, kept with the request")
    add("demo-summary", cmd_demo_summary, "what the demo built and where to look")
    return parser


BUG_HINT = ("this is a bug in the platform, not a mistake of yours: please report it with the "
            "traceback above and the command you ran")


def version() -> str:
    """The installed package's version; from pyproject.toml in a checkout that is not installed."""
    from importlib import metadata
    try:
        return metadata.version("dataplatform")
    except metadata.PackageNotFoundError:
        import tomllib
        return tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _complete(parser)
    args = parser.parse_args(argv)
    from runners import logs
    from shared_lib.errors import UserError
    logs.setup(debug=args.debug)
    try:
        return args.func(args)
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"dp {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dp {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"dp {args.command}: {BUG_HINT}", file=sys.stderr)
        return 1


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion (argcomplete): answers and exits when the shell asks, else does nothing."""
    try:
        import argcomplete
    except ImportError:  # completion is a convenience: dp works without it
        return
    argcomplete.autocomplete(parser)


if __name__ == "__main__":
    sys.exit(main())
