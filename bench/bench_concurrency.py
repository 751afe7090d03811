"""Ten browser sessions browse every page while an import runs in the app: errors, lost writes,
and each page's time under load as a ratio of its idle time (same server, same run).

    .venv/bin/python bench/bench_concurrency.py                   # 1,000,000-case demo history
    .venv/bin/python bench/bench_concurrency.py --rows 50000      # quick look

Phases: (1) idle: each page opened alone, several times (warm caches), median time until
Streamlit's script run finishes; (2) load: one session imports a 200,000-row export through
the Data page while ten sessions open every page in turn and each records an event (a write
of their own). Afterwards the database must hold every imported row and every event.
Writes docs/benchmarks/concurrency.md. Needs /usr/bin/chromium (Debian package).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402
from ui.page import NAVIGATION  # noqa: E402

PAGES = [
    (re.sub(r"^\d+_", "", s.split("/")[-1].removesuffix(".py")) if s != "app.py" else "", label)
    for s, label, _ in NAVIGATION
    if (ROOT / s).exists()
]


async def wait_idle(page, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    quiet = None
    while time.time() < deadline:
        state = await page.get_attribute("[data-testid='stApp']", "data-test-script-state")
        if state == "notRunning":
            quiet = quiet or time.time()
            if time.time() - quiet > 0.5:
                return
        else:
            quiet = None
        await asyncio.sleep(0.1)
    raise TimeoutError("page still running")


async def open_page(browser, url: str) -> tuple[float, int]:
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await ctx.new_page()
    t0 = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector("[data-testid='stApp']")
    await wait_idle(page)
    seconds = time.perf_counter() - t0 - 0.5  # minus the quiet period
    errors = await page.locator(
        "[data-testid='stException'], [data-testid='stAlertContentError']"
    ).count()
    await ctx.close()
    return seconds, errors


async def record_event(browser, base: str, i: int) -> None:
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{base}/Data")
    await wait_idle(page)
    await page.get_by_role("tab", name="Events").click()
    await page.get_by_label("Title").fill(f"Load test event {i}")
    await page.get_by_role("button", name="Record event").click()
    await page.get_by_text("Event recorded").wait_for(timeout=300_000)
    await ctx.close()


async def importer(browser, base: str, csv: Path) -> float:
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{base}/Data")
    await wait_idle(page)
    await page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(csv))
    await page.get_by_text("Recognised as", exact=False).wait_for(timeout=300_000)
    t0 = time.perf_counter()
    await page.get_by_role("button", name="Import", exact=True).click()
    await page.get_by_text("inserted", exact=False).wait_for(timeout=900_000)
    await ctx.close()
    return time.perf_counter() - t0


async def session(browser, base: str, i: int, rounds: int, times: dict, errors: list) -> None:
    for r in range(rounds):
        for path, label in PAGES:
            seconds, errs = await open_page(browser, f"{base}/{path}")
            times.setdefault(label, []).append(seconds)
            if errs:
                errors.append(f"session {i} round {r}: {errs} error box(es) on {label}")
        if r == 0:
            await record_event(browser, base, i)


async def run(base: str, csv: Path, idle_repeats: int, rounds: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        idle: dict[str, list[float]] = {}
        for path, _label in PAGES:  # warm caches first, then measure
            await open_page(browser, f"{base}/{path}")
        for _ in range(idle_repeats):
            for path, label in PAGES:
                idle.setdefault(label, []).append((await open_page(browser, f"{base}/{path}"))[0])
        loaded: dict[str, list[float]] = {}
        errors: list[str] = []
        t0 = time.perf_counter()
        import_task = asyncio.create_task(importer(browser, base, csv))
        await asyncio.gather(
            *(session(browser, base, i, rounds, loaded, errors) for i in range(10))
        )
        import_seconds = await import_task
        total = time.perf_counter() - t0
        await browser.close()
    return {
        "idle": idle,
        "loaded": loaded,
        "errors": errors,
        "import_seconds": import_seconds,
        "total_seconds": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=200_000)
    parser.add_argument("--idle-repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from bench.bench_import import make_csv
    from bench.bench_overview import build_db

    source_db = build_db(args.rows)
    db = OUT / "concurrency.duckdb"
    shutil.copy(source_db, db)
    # An export of new cases: the demo generator's rows with fresh ids.
    csv_src = make_csv(args.import_rows)
    csv = OUT / f"concurrency_import_{args.import_rows}.csv"
    con = duckdb.connect()
    # COPY takes no parameter for its target; both paths are our own benchmark files.
    con.execute(
        "CREATE TEMP TABLE src AS SELECT * REPLACE ('LOAD-' || case_id AS case_id) "
        "FROM read_csv(?, all_varchar=true)",
        [str(csv_src)],
    )
    con.execute(f"COPY src TO '{csv}' (HEADER)")
    con.close()
    before = (
        duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM cases").fetchone()[0]
    )
    server = Server(db, env={"ESC_MAX_UPLOAD_MB": "2000"})
    try:
        result = asyncio.run(run(server.url, csv, args.idle_repeats, args.rounds))
    finally:
        server.stop()
    con = duckdb.connect(str(db), read_only=True)
    after = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    imported = con.execute("SELECT count(*) FROM cases WHERE case_id LIKE 'LOAD-%'").fetchone()[0]
    events = con.execute(
        "SELECT count(*) FROM events WHERE title LIKE 'Load test event %'"
    ).fetchone()[0]
    con.close()
    rows = []
    worst = 0.0
    for _path, label in PAGES:
        idle = statistics.median(result["idle"][label])
        load = result["loaded"].get(label, [])
        ratio = max(load) / idle if load and idle > 0 else float("nan")
        worst = max(worst, ratio)
        rows.append(
            f"| {label} | {idle:.2f} | {statistics.median(load):.2f} | {max(load):.2f} | {ratio:.1f} |"
        )
    ok = lambda c: "met" if c else "**missed**"  # noqa: E731
    lines = [
        "# Concurrency benchmark",
        "",
        f"Command: `.venv/bin/python bench/bench_concurrency.py --rows {args.rows} --import-rows {args.import_rows} "
        f"--idle-repeats {args.idle_repeats} --rounds {args.rounds}`",
        "",
        f"{args.rows:,}-case demo history; one session imports {args.import_rows:,} new cases through the Data page "
        f"(took {result['import_seconds']:.0f} s in the app) while 10 sessions open every page {args.rounds} times "
        f"and each records an event. Times: from navigation until Streamlit's script run finished, in seconds "
        "(headless Chromium, 2 shared cores for everything).",
        "",
        "| Page | idle median | under load median | under load max | max / idle |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"- Errors shown on pages during the run: **{len(result['errors'])}** {result['errors'][:5]}",
        f"- Lost writes: imported rows present {imported:,} of {args.import_rows:,} (cases {before:,} → {after:,}); "
        f"events recorded during the import {events} of 10: {ok(imported == args.import_rows and events == 10)}",
        f"- Slowest page under load vs idle: **{worst:.1f}x** (target at most 3x: {ok(worst <= 3)})",
    ]
    (ROOT / "docs" / "benchmarks" / "concurrency.md").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
