"""The ``dp`` command. Each subcommand is a thin shell over a module of ``runners`` or
``shared_lib``. Errors that a user can fix (``shared_lib.errors.UserError``) end as one line on
stderr and exit code 2; anything else is a bug and shows its traceback (exit code 1)."""
# PYTHON_ARGCOMPLETE_OK
from __future__ import annotations

import argparse
import json
import signal
import sys
import traceback
from pathlib import Path

from shared_lib import params as params_lib
from shared_lib import paths, storage
from shared_lib.api import roles

EPILOG = """environment: DP_ENV (default dev), DP_HOME (workspace, default <checkout>/.dp),
DP_REPORTS (default <checkout>/reports), ports: DP_KAFKA_PORT, DP_KAFKA_CONTROLLER_PORT,
DP_SPARK_PORT, DP_SPARK_UI_PORT, DP_SERVE_PORT, DP_METRICS_PORT, DP_API_PORT (first of five),
DP_GATEWAY_PORT; DP_LINEAGE_URL (an OpenLineage HTTP endpoint, e.g. Marquez), DP_SKIP_UP_TO_DATE=false
(dp run runs up-to-date notebooks too). Gateway: PLATFORM_ENV and the registry variables (README, "API gateway")."""


def _params(args) -> dict:
    params = params_lib.load(getattr(args, "env", None), getattr(args, "param", None) or ())
    storage.configure(params)  # every command reads and writes the lake of these parameters
    return params


def cmd_up(args) -> int:
    from runners import services
    params = _params(args)
    print(f"starting services of workspace {paths.workspace()} ...")
    workers = getattr(args, "workers", None)
    if workers is not None:  # a standalone cluster: this dp up runs Spark in mode cluster
        if workers < 1:
            from shared_lib.errors import UserError
            raise UserError(f"dp up --workers must be at least 1, got {workers}")
        params["platform"]["services"]["spark"]["mode"] = "cluster"
    for line in services.up(params, args.service or None, workers=workers, brokers=getattr(args, "brokers", None)):
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
            print(f"  {r.name:<14} {r.state:<8} {r.address:<22} {pid:<12} log {r.log}")
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
    if args.repair and (args.product or args.layer or args.notebook):
        from shared_lib.errors import UserError
        raise UserError("--repair reruns what that run left undone: give no --product, --layer or --notebook")
    summary = run.run(products=args.product, layer=args.layer, notebook=args.notebook, env=args.env,
                      overrides=args.param or (), force=args.force, run_id=args.run_id, repair=args.repair,
                      wait=not args.no_wait)
    return 0 if summary.ok else 1


def cmd_rerun(args) -> int:
    from runners import rerun
    results = rerun.rerun(args.run_id, args.notebook)
    if args.json:
        print(json.dumps([{**r.__dict__, "output": str(r.output), "same": r.same} for r in results], indent=2))
    return 0 if all(r.same for r in results) else 1


def cmd_lineage(args) -> int:
    from runners import lineage_graph
    direction = "upstream" if args.upstream else "downstream" if args.downstream else "both"
    print(lineage_graph.show(args.table, direction, args.json))
    return 0


def cmd_schedule(args) -> int:
    from runners import schedule, services
    services.require_running(_params(args))
    if args.once:
        results = schedule.run_due(args.env, overrides=args.param or ())
        if not results:
            print("schedule: nothing is due")
        return 0 if all(ok for _, ok in results) else 1
    schedule.loop(args.env, overrides=args.param or ())
    return 0


def cmd_catalog(args) -> int:
    from shared_lib import catalog
    items = catalog.entries()
    print(json.dumps(items, indent=2) if args.json else catalog.format_text(items))
    return 0


def cmd_hold(args) -> int:
    from runners import services
    from shared_lib import holds
    if args.action == "list":
        found = holds.in_force()
        if args.json:
            print(json.dumps([{**h.__dict__, "placed_at": h.placed_at.isoformat()} for h in found], indent=2))
        else:
            print(holds.format_text(found))
        return 0
    params = _params(args)
    services.require_running(params, ["kafka"])  # each action is recorded in the audit trail
    if args.action == "add":
        if bool(args.subject) == bool(args.table):
            raise holds.HoldError("name exactly one of --subject SUBJECT_ID or --table TABLE")
        scope, target = ("subject", args.subject) if args.subject else ("table", args.table)
        hold = holds.place(params, scope, target, reason=args.reason)
        print(f"placed {hold.hold_id} on {scope} {hold.target}: its rows are kept by retention until "
              f"`dp hold remove {hold.hold_id}`")
        return 0
    if not args.hold_id:
        raise holds.HoldError("name the hold to remove: dp hold remove HOLD_ID (see dp hold list)")
    hold = holds.release(params, args.hold_id, reason=args.reason)
    print(f"released {hold.hold_id} ({hold.scope} {hold.target}): its rows fall under the retention policy again")
    return 0


def cmd_retention(args) -> int:
    from runners import services
    from shared_lib import retention
    params = _params(args)
    if not args.dry_run:
        services.require_running(params, ["kafka"])  # every delete is recorded in the audit trail
    chosen = retention.declared_tables(args.table) if args.table else None
    checks = retention.run(params, dry_run=args.dry_run, tables=chosen, progress=None if args.json else print)
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
        return 0 if not retention.summary(checks)["tables_failed"] else 1
    total = retention.summary(checks)
    verb = "would delete" if args.dry_run else "deleted"
    gone = total["rows_past_retention"] - total["rows_held"] if args.dry_run else total["rows_deleted"]
    print(f"retention{' (dry run: nothing changed)' if args.dry_run else ''}: {total['tables_checked']} tables, "
          f"{total['rows_past_retention']} row(s) past retention, {total['rows_held']} held, {verb} {gone}"
          + ("" if args.dry_run else f", {total['files_removed']} file(s) vacuumed"))
    for name in total["tables_failed"]:
        print(f"  FAILED: {name} (see above)")
    return 0 if not total["tables_failed"] else 1


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


def cmd_alerts(args) -> int:
    from runners import alerts
    from shared_lib.errors import UserError
    if args.action == "ack":
        if not args.id:
            raise UserError("ack needs the alert's id: dp alerts ack ID [--by NAME] (dp alerts lists them)")
        row = alerts.ack(args.id, args.by)
        print(f"acknowledged {row['alert_id']} by {row['acknowledged_by']} at "
              f"{row['acknowledged_at']:%Y-%m-%d %H:%M:%S} UTC")
        return 0
    print(alerts.format_incidents(alerts.current()))
    return 0


def cmd_bench(args) -> int:
    from runners import bench
    return bench.main(quick=args.quick, events=args.events, web_events=args.web_events,
                      customers=args.customers, only=args.only, mobile_events=args.mobile_events,
                      compliance_events=args.compliance_events,
                      warm_up_events=args.warm_up_events, api_requests=args.api_requests,
                      dag_events=args.dag_events, workers=args.workers)


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


def cmd_keys(args) -> int:
    from shared_lib.api.keys import KeyStore
    store = KeyStore()
    if args.action == "create":
        secret, record = store.create(args.role, args.name)
        print(secret)
        print(f"key {record.name!r} (id {record.id}, role {record.role}): shown only now, stored hashed in "
              f"{store.path}; send it as `Authorization: Bearer <key>` or `X-API-Key`", file=sys.stderr)
    elif args.action == "revoke":
        record = store.revoke(args.key)
        print(f"revoked key {record.name!r} (id {record.id}, role {record.role})")
    else:
        keys = store.keys()
        if args.json:
            print(json.dumps([{k: v for k, v in vars(entry).items() if k != "hash"} for entry in keys], indent=1))
            return 0
        if not keys:
            print(f"no keys in {store.path}: create one with `dp keys create --role ROLE`")
        for entry in keys:
            state = f"revoked {entry.revoked_at}" if entry.revoked_at else "active"
            print(f"{entry.id}  {entry.name:<24} {entry.role:<9} created {entry.created_at}  {state}")
    return 0


def cmd_dsar(args) -> int:
    from shared_lib.dsar import access, erase
    params = _params(args)
    # "-": the id on stdin, so it is not on a command line other users can read (the compliance API);
    # a second line, if any, is the reason (it can name the person too).
    if args.subject == "-":
        subject, reason = sys.stdin.readline().strip(), sys.stdin.readline().strip() or args.reason
    else:
        subject, reason = args.subject, args.reason
    subject = erase.check_subject(subject)
    if args.action == "access":
        if reason:
            print("dp dsar access: --reason applies to erase only", file=sys.stderr)
            return 2
        access.access(params, subject, Path(args.out) if args.out else None, request_id=args.request_id)
        return 0
    if args.out:
        print("dp dsar erase: --out applies to access only", file=sys.stderr)
        return 2
    from runners import run, runlock
    # Its vacuum without retention would delete the files of a commit in flight: no dp run meanwhile.
    with runlock.held(f"dsar-erase-{run.new_run_id()}"):
        result = erase.erase(params, subject, reason, request_id=args.request_id)
    for line in erase.report_lines(result):
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

    for name, func, text in (("up", cmd_up, "start Kafka, Spark Connect and, when enabled, S3Proxy (waits until ready)"),
                             ("down", cmd_down, "stop the services that dp up started")):
        p = with_env(add(name, func, text)) if name == "up" else add(name, func, text)
        p.add_argument("service", nargs="*", help="only these services: s3proxy, kafka, spark (default all; "
                       "s3proxy only when services.s3proxy.enabled)")
        if name == "up":
            p.add_argument("--workers", type=int, metavar="N",
                           help="run Spark in mode cluster: a standalone master and N workers here, the Connect "
                                "server's executors on them (services.spark.cluster)")
            p.add_argument("--brokers", type=int, metavar="N",
                           help="a local Kafka cluster of N KRaft brokers (default platform.services.kafka.brokers; "
                                "a workspace keeps the count it was first started with)")
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
                   help="run every selected notebook: also when an upstream notebook failed in this run, "
                        "and when it is up to date (same source, parameters, code and inputs as its last success)")
    p.add_argument("--no-wait", action="store_true",
                   help="refuse at once while another run holds the workspace's run lock (default: wait for it)")
    # The platform API (POST /platform/runs) names the run it starts; a run id of its own otherwise.
    p.add_argument("--run-id", help=argparse.SUPPRESS)
    p.add_argument("--repair", metavar="RUN_ID",
                   help="rerun the failed and skipped notebooks of run RUN_ID and their downstream, with its "
                        "parameters (-p overrides them), as a new run linked to it")
    p = add("rerun", cmd_rerun, "re-execute a run's gold notebooks on exactly the table versions it read "
                                "(Delta time travel), in a scratch workspace, and check the results equal the original's")
    p.add_argument("run_id", help="a run of `dp runs`")
    p.add_argument("--notebook", help="only this notebook: NAME or PRODUCT:NAME (default: the run's gold notebooks)")
    p.add_argument("--json", action="store_true", help="the outcome of each notebook as JSON")
    p = add("lineage", cmd_lineage, "the lineage graph of a table, topic, notebook or dashboard: Kafka topic -> "
                                    "notebooks -> tables -> dashboards (from the runs' OpenLineage events)")
    p.add_argument("table", help="a table (product.layer.name or name), a topic, a notebook (product.notebook) "
                                 "or dashboard:PRODUCT")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--upstream", action="store_true", help="only what it comes from")
    direction.add_argument("--downstream", action="store_true", help="only what comes from it")
    p.add_argument("--json", action="store_true", help="nodes and edges as JSON")
    p = with_env(add("schedule", cmd_schedule, "run the DAG on the intervals of platform.schedules (Ctrl-C stops)"))
    p.add_argument("--once", action="store_true", help="run what is due now, then exit (for cron)")
    p = add("catalog", cmd_catalog, "every table: location, columns, personal-data tags, owner, retention, version")
    p.add_argument("--json", action="store_true")
    p = with_env(add("hold", cmd_hold, "legal holds: a held subject's or table's rows are kept by retention"))
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("hold_id", nargs="?", help="the hold to remove (dp hold list shows them)")
    p.add_argument("--subject", help="add: hold this data subject's rows (subject columns, raw text, audit hash)")
    p.add_argument("--table", help="add: hold every row of this table (product.layer.table)")
    p.add_argument("--reason", help="why: a case or matter reference (kept in the holds' history)")
    p.add_argument("--json", action="store_true", help="list: as JSON")
    p = with_env(add("retention", cmd_retention, "delete the rows past their table's retention (legal holds "
                                                 "kept), vacuum, record the check"))
    p.add_argument("--dry-run", action="store_true", help="count and print what would go; change nothing")
    p.add_argument("--table", action="append", help="only this table (product.layer.table; repeatable)")
    p.add_argument("--json", action="store_true", help="every table's check as JSON")
    p = add("runs", cmd_runs, "the run history (newest first)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p = add("alerts", cmd_alerts, "the incidents of the alert log (open, acknowledged, resolved), or "
                                  "acknowledge one: dp alerts ack ID [--by NAME]")
    p.add_argument("action", nargs="?", choices=["list", "ack"], default="list")
    p.add_argument("id", nargs="?", help="the alert to acknowledge (its alert_id)")
    p.add_argument("--by", help="who acknowledges it (default: the OS user)")
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
    p.add_argument("--dag-events", type=int, help="events per product for the whole-DAG benchmark (cold, "
                   "no-op and 1 %% reruns; default 20000 as make demo, or 2000 with --quick)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this benchmark (repeatable): runner overhead, kafka -> bronze, "
                        "web bronze -> gold, mobile bronze -> gold, compliance bronze -> gold, segmentation, "
                        "dashboard first render, api latency, gateway latency, whole DAG reruns, erasure")
    p.add_argument("--workers", type=int, metavar="N", help="run the bench's Spark in mode cluster: a standalone master "
                   "and N workers, the Connect server's executors on them (as dp up --workers N); default: mode server")
    p.add_argument("--api-requests", type=int, help="requests of the API and gateway latency benchmarks, from 50 concurrent "
                   "clients (default 20000, or 3000 with --quick)")
    p = with_env(add("serve", cmd_serve, "serve the Voila dashboards of notebooks/dashboards/ (platform.serve, "
                                         "DP_SERVE_PORT), the Prometheus exporter (platform.metrics, "
                                         "DP_METRICS_PORT), the five product APIs (DP_API_PORT, 8002..8006) and "
                                         "the API gateway with the platform API (DP_GATEWAY_PORT, 8000) on "
                                         "127.0.0.1; Ctrl-C stops"))
    p.add_argument("--background", action="store_true",
                   help="leave running in the background (pid file and log in the workspace)")
    p.add_argument("--stop", action="store_true", help="stop what dp serve --background started")
    p = add("keys", cmd_keys, "API keys: create (printed once, stored hashed), list, revoke")
    keys_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    k = keys_sub.add_parser("create", help="a new key for a role; the key is printed once")
    k.add_argument("--role", required=True, choices=list(roles.ROLES),
                   help="viewer < analyst < operator < admin, or auditor (compliance reads)")
    k.add_argument("--name", help="what the key is for (default ROLE-ID); the actor in the audit trail")
    k = keys_sub.add_parser("list", help="every key: id, name, role, created, revoked")
    k.add_argument("--json", action="store_true")
    k = keys_sub.add_parser("revoke", help="lock out one key (by id or name); other keys keep working")
    k.add_argument("key", metavar="ID_OR_NAME")
    p = with_env(add("dsar", cmd_dsar, "data-subject requests: export every row of a subject (access) or "
                                       "erase it everywhere, history included (erase)"))
    p.add_argument("action", choices=["access", "erase"])
    p.add_argument("subject", help="the subject's id (a web anonymous_id or user_id, a mobile device_id or "
                                   "user_id); the ids linked to it are included; - reads it from stdin "
                                   "(and the reason from the next line)")
    p.add_argument("--out", help="access: the folder of the export (default reports/dsar/<request id>)")
    p.add_argument("--reason", help="erase: the requester's reason, kept with the request")
    p.add_argument("--request-id", help=argparse.SUPPRESS)  # the id POST /dsar already answered
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
    # A plain `kill` stops a command as Ctrl-C does: its cleanup runs (a bench's services, a run's
    # lock and kernels) instead of being left behind.
    signal.signal(signal.SIGTERM, _terminated)
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


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion (argcomplete): answers and exits when the shell asks, else does nothing."""
    try:
        import argcomplete
    except ImportError:  # completion is a convenience: dp works without it
        return
    argcomplete.autocomplete(parser)


if __name__ == "__main__":
    sys.exit(main())
