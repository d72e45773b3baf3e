"""Pre-heated dashboards under stress: the check behind ``runners.serve.PREHEAT``.

Starts the dashboards as ``dp serve`` does (pre-heating as ``PREHEAT`` or ``--preheat`` says) on a free
port, in the workspace of ``DP_HOME`` (give it one with gold tables: after ``make demo``, or a
bench workspace), then opens pages in headless Chromium: one every ``--gap`` seconds, the
dashboards in turn, and every third round each dashboard twice in a row, so that the second
request arrives while the spare kernel of the first is still starting or pre-heating. At most
``--concurrency`` pages are open at once. A page that shows neither its cards nor its empty
state within ``--timeout`` seconds never finished loading: it is counted, its HTML kept beside
the server's log, and the run exits 1. With ``--http`` the pages are only fetched (Voila's HTML,
no browser, no widgets). Each page's kernel is shut down after it, as a closed tab's would be.

    DP_HOME=/path/to/workspace PYTHONPATH=$PWD .venv/bin/python -m runners.bench.preheat_stress --rounds 16

Several minutes: a script, not a test (docs/performance.md, Dashboards, has its results).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import time
import urllib.request

from runners import serve, services
from shared_lib import params as params_lib
from shared_lib import paths

RENDERED = ".dp-kpi, .dp-empty, .pc-product, .pc-gateway-down"  # as runners.bench.dashboard waits for
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FAILED = ("There was an error", "An exception occurred")  # Voila's words for a cell that raised


def _shut_down(url: str, kernel_id: str) -> None:
    """What a closed tab's beforeunload posts (Playwright's closed pages never send it, and their
    kernels would pile up); any equal XSRF cookie and header pass Voila's check."""
    base = url.split("/voila/render/")[0]
    request = urllib.request.Request(f"{base}/voila/api/shutdown/{kernel_id}", method="POST", data=b"",
                                     headers={"Cookie": "_xsrf=stress", "X-XSRFToken": "stress"})
    urllib.request.urlopen(request, timeout=10).close()


async def _browser_page(browser, url: str, timeout_s: float) -> tuple[str, str]:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        try:
            await page.goto(url, timeout=timeout_s * 1000)
            await page.wait_for_selector(RENDERED, state="attached", timeout=timeout_s * 1000)
        except Exception as exc:  # Playwright's TimeoutError, or the page's connection lost
            return f"never loaded ({type(exc).__name__})", await page.content()
        body = await page.inner_text("body")
        return ("error" if any(word in body for word in FAILED) else "ok"), ""
    finally:
        kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', await page.content())
        await page.close()
        if kernel:
            await asyncio.to_thread(_shut_down, url, kernel.group(1))


def _http_page(url: str, timeout_s: float) -> tuple[str, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            html = response.read().decode()
    except Exception as exc:
        return f"never loaded ({type(exc).__name__})", ""
    kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', html)
    if kernel:
        _shut_down(url, kernel.group(1))
    if not html.rstrip().endswith("</html>"):
        return "cut short", html
    return ("error" if any(word in html for word in FAILED) else "ok"), ""


async def _stress(base: str, names: list[str], args) -> list[tuple[str, str, float]]:
    results: list[tuple[str, str, float]] = []
    slots = asyncio.Semaphore(args.concurrency)
    started = time.monotonic()

    async def one(browser, name: str, tag: str) -> None:
        async with slots:
            began = time.monotonic()
            url = f"{base}/voila/render/{name}.ipynb"
            if browser is None:
                outcome, html = await asyncio.to_thread(_http_page, url, args.timeout)
            else:
                outcome, html = await _browser_page(browser, url, args.timeout)
            if html:
                (paths.logs_dir() / f"preheat-stress-{name}-{tag}.html").write_text(html)
            results.append((f"{name} {tag}", outcome, time.monotonic() - began))
            print(f"{time.monotonic() - started:7.1f} s  {name:24s} {tag:5s} {outcome}  "
                  f"{time.monotonic() - began:.2f} s", flush=True)

    async def run(browser) -> None:
        tasks = []
        for i in range(args.rounds):
            for name in names:
                tasks.append(asyncio.create_task(one(browser, name, f"r{i}")))
                if i % 3 == 1:  # the same page again while its spare kernel starts
                    await asyncio.sleep(random.uniform(0.05, 1.5))
                    tasks.append(asyncio.create_task(one(browser, name, f"r{i}b")))
                await asyncio.sleep(args.gap)
        await asyncio.gather(*tasks)

    if args.http:
        await run(None)
    else:
        from playwright.async_api import async_playwright

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                await run(browser)
            finally:
                await browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=16, help="pages of each dashboard (plus a second every third round)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between two pages opened")
    parser.add_argument("--concurrency", type=int, default=3, help="pages open at once, at most")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds after which a page never loaded")
    parser.add_argument("--only", action="append", help="this dashboard only (repeatable)")
    parser.add_argument("--http", action="store_true", help="fetch Voila's HTML only, no browser")
    parser.add_argument("--preheat", choices=("on", "off"), help="pre-heating, whatever PREHEAT says")
    args = parser.parse_args(argv)
    if args.preheat:
        serve.PREHEAT = args.preheat == "on"
    # Free ports of its own; the console then finds no gateway (its notice), never another's.
    os.environ["DP_SERVE_PORT"], os.environ["DP_GATEWAY_PORT"] = map(str, services.free_ports(2))
    params = params_lib.load("dev")
    began = time.monotonic()
    serve.start(params, serve.DASHBOARDS, progress=lambda line: None)
    print(f"dashboards ready in {time.monotonic() - began:.1f} s (pre-heating {'on' if serve.PREHEAT else 'off'}); "
          f"log: {services.log_file('dashboards')}", flush=True)
    try:
        names = args.only or [name.removesuffix(".ipynb") for name in serve.dashboards()]
        results = asyncio.run(_stress(serve.base_url(params, serve.DASHBOARDS), names, args))
    finally:
        serve.stop()
    failed = [(page, outcome) for page, outcome, _ in results if outcome != "ok"]
    seconds = sorted(s for _, outcome, s in results if outcome == "ok")
    print(f"{len(results)} pages, {len(failed)} not ok: {failed}; median {seconds[len(seconds) // 2]:.2f} s"
          if seconds else f"{len(results)} pages, none ok: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
