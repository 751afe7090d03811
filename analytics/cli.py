"""The ``python -m analytics`` command line (see ``__main__``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.config import get_settings
from analytics.errors import EscalationInsightsError


class _Progress:
    """A tqdm bar driven by (stage, fraction) callbacks; silent when stderr is not a TTY."""

    def __init__(self, enabled: bool):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100,
                unit="%",
                bar_format="{desc:<34} {bar} {percentage:3.0f}%",
                file=sys.stderr,
            )

    def __call__(self, stage: str, fraction: float) -> None:
        if self.bar is not None:
            self.bar.set_description_str(stage)
            self.bar.n = int(round(fraction * 100))
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _db(args) -> Path:
    return Path(args.db) if args.db else get_settings().db_path


def cmd_import(args) -> int:
    from analytics.ingest import import_file
    from analytics.presets import load_mapping_file
    from analytics.store import connect

    mapping = load_mapping_file(args.mapping) if args.mapping else None
    con = connect(_db(args))
    progress = _Progress(not args.quiet and sys.stderr.isatty())
    try:
        result = import_file(
            con,
            args.file,
            preset=args.preset,
            mapping=mapping,
            fmt=args.format,
            delimiter=args.delimiter,
            encoding=args.encoding,
            timezone=args.timezone,
            progress=progress,
        )
        if result.inserted:
            from analytics import painpoints

            if painpoints.fitted(con) is not None:
                # New cases join the existing pain points (no refit: that is a user's call).
                assigned = painpoints.assign_new_cases(con, progress=progress)
                if assigned:
                    print(f"{assigned:,} new cases assigned to the existing pain points.")
    finally:
        progress.close()
        con.close()
    print(f"Import {result.import_id} ({result.preset}): {result.summary()}")
    if result.quarantined:
        print(f"See the rejected rows with: python -m analytics quarantine {result.import_id}")
    return 0


def cmd_pain_points(args) -> int:
    from analytics import painpoints
    from analytics.access import LOCAL_USER
    from analytics.store import connect

    con = connect(_db(args))
    progress = _Progress(not args.quiet and sys.stderr.isatty())
    try:
        if args.action == "assign":
            n = painpoints.assign_new_cases(con, progress=progress)
            message = f"{n:,} new cases assigned to the existing pain points."
        else:
            embedder = painpoints.make_embedder(args.representation)
            r = painpoints.fit(con, LOCAL_USER, embedder=embedder, progress=progress)
            message = (
                f"{r.n_clusters} pain points from {r.n_cases:,} cases ({r.representation}): "
                f"{r.kept} kept their identity, {r.born} new, {r.gone} gone; "
                f"{r.unassigned:,} unassigned; {r.seconds:.0f} s."
            )
    finally:
        progress.close()
        con.close()
    print(message)
    return 0


def cmd_scan(args) -> int:
    from analytics import alert_scans, trend_watch
    from analytics.access import LOCAL_USER
    from analytics.store import connect

    con = connect(_db(args))
    progress = _Progress(not args.quiet and sys.stderr.isatty())
    try:
        scan = trend_watch.scan_store(con, incremental=not args.full, progress=progress)
        summary = alert_scans.record_scan(con, scan, LOCAL_USER)
    finally:
        progress.close()
        con.close()
    print(
        f"Scanned {scan.series:,} series as of {scan.as_of}: {len(scan.trends)} trends; "
        f"{summary.new} new alerts, {summary.updated} updated, {summary.refired} fired again."
    )
    return 0


def cmd_demo(args) -> int:
    from analytics.demo import load_demo
    from analytics.store import case_count, connect

    con = connect(_db(args))
    try:
        if case_count(con) and not args.force:
            print(
                f"{_db(args)} already holds cases; add --force to load the demo history on top.",
                file=sys.stderr,
            )
            return 1
        progress = _Progress(not args.quiet and sys.stderr.isatty())
        try:
            result, manifest = load_demo(con, rows=args.rows, seed=args.seed, progress=progress)
        finally:
            progress.close()
        if args.manifest:
            import json

            Path(args.manifest).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    finally:
        con.close()
    print(f"Demo history loaded into {_db(args)}: {result.summary()}")
    return 0


def cmd_info(args) -> int:
    from analytics.store import connect, describe

    con = connect(_db(args))
    try:
        info = describe(con)
    finally:
        con.close()
    print(f"Database: {_db(args)} (schema {info.schema_version})")
    if not info.cases:
        print(
            "No cases yet. Import an export (python -m analytics import FILE) or load the demo "
            "(python -m analytics demo)."
        )
        return 0
    print(f"Cases: {info.cases:,}{' (demo data)' if info.is_demo else ''}")
    print(f"Created: {info.first_case:%Y-%m-%d} .. {info.last_case:%Y-%m-%d}")
    print(f"Quarantined rows: {info.quarantined:,}")
    print("Last imports:")
    for row in info.last_imports.itertuples():
        print(
            f"  #{row.import_id} {row.finished_at:%Y-%m-%d %H:%M} {row.file_name} ({row.preset}): "
            f"{row.rows_read:,} read, {row.inserted:,} inserted, {row.updated:,} updated, "
            f"{row.unchanged:,} unchanged, {row.quarantined:,} quarantined [{row.status}]"
        )
    return 0


def cmd_quarantine(args) -> int:
    from analytics.ingest import quarantine_rows
    from analytics.store import connect

    con = connect(_db(args))
    try:
        rows = quarantine_rows(con, args.import_id, limit=args.limit)
    finally:
        con.close()
    if rows.empty:
        print("No quarantined rows.")
        return 0
    for row in rows.itertuples():
        print(f"import {row.import_id} row {row.row_number}: {row.reason}\n    {row.raw[:300]}")
    return 0


def cmd_delete_import(args) -> int:
    from analytics.ingest import delete_import
    from analytics.store import connect

    con = connect(_db(args))
    try:
        n = delete_import(con, args.import_id)
    finally:
        con.close()
    print(
        f"Import {args.import_id} deleted: {n:,} cases removed or restored to their earlier version."
    )
    return 0


def cmd_export_parquet(args) -> int:
    from analytics.lake import export_partitioned_parquet, months_since
    from analytics.store import connect

    con = connect(_db(args), read_only=True)
    progress = _Progress(not args.quiet and sys.stderr.isatty())
    try:
        months = None
        if args.since_import is not None:
            months = months_since(con, args.since_import)
        elif args.months:
            try:
                months = [(int(m[:4]), int(m[5:])) for m in args.months.split(",")]
            except ValueError:
                print(f"--months {args.months!r}: use YYYY-MM,YYYY-MM,...", file=sys.stderr)
                return 2
        result = export_partitioned_parquet(con, args.out_dir, months=months, progress=progress)
    finally:
        progress.close()
        con.close()
    print(
        f"{result.rows:,} cases written to {result.out_dir} "
        f"({len(result.months)} month folders, {result.seconds:.1f} s)."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="Escalation Insights")
    parser.add_argument(
        "--db", help="DuckDB file (default: $ESC_DB_PATH or data/escalations.duckdb)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "import", help="import an export (CSV, TSV, Excel, JSON, JSON Lines, Parquet)"
    )
    p.add_argument("file")
    p.add_argument(
        "--preset",
        default="auto",
        help="auto (default), generic, zendesk, salesforce, jira, freshdesk, dsa_sor",
    )
    p.add_argument("--mapping", help="YAML or TOML mapping file")
    p.add_argument("--format", help="force the format (csv, tsv, xlsx, json, jsonl, parquet)")
    p.add_argument("--delimiter", help="CSV delimiter (default: detected)")
    p.add_argument("--encoding", help="text encoding (default: detected)")
    p.add_argument("--timezone", help="time zone of timestamps without offset (default: UTC)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("demo", help="load the synthetic demo history")
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--force", action="store_true", help="load even if the database holds cases")
    p.add_argument("--manifest", help="also write the scenario manifest (JSON) to this file")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("info", help="counts, date range, last imports, quarantine size")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("quarantine", help="show rejected rows and why")
    p.add_argument("import_id", nargs="?", type=int)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser(
        "export-parquet", help="write the cases as Parquet partitioned by month (for Spark)"
    )
    p.add_argument("out_dir")
    p.add_argument("--db", default=argparse.SUPPRESS, help="DuckDB file (as the global --db)")
    p.add_argument("--months", help="only these months, e.g. 2026-10,2026-11")
    p.add_argument("--since-import", type=int, help="only months touched after this import")
    p.set_defaults(func=cmd_export_parquet)

    p = sub.add_parser("pain-points", help="fit the pain points, or assign new cases to them")
    p.add_argument("action", choices=["fit", "assign"])
    p.add_argument(
        "--representation",
        choices=["auto", "sentence", "lsa"],
        help="text representation for fit (default: $ESC_TEXT_REPRESENTATION or auto)",
    )
    p.set_defaults(func=cmd_pain_points)

    p = sub.add_parser("scan", help="scan for trending risks and update the alerts")
    p.add_argument("--full", action="store_true", help="recount every day, not only new ones")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("delete-import", help="undo an import")
    p.add_argument("import_id", type=int)
    p.set_defaults(func=cmd_delete_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EscalationInsightsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted: nothing was written by the unfinished step.", file=sys.stderr)
        return 130
