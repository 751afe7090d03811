"""Mutation fuzzing of the importer: damaged exports must give a clear error or an exact import.

Used by ``tests/test_fuzz_import.py`` (a few hundred cases on every run) and
``bench/fuzz_import.py`` (thousands, with a report). Each case takes a real sample export,
damages it (flipped bytes, stray quotes and delimiters, truncation, NUL bytes, BOMs,
duplicated lines, wrong encodings, huge fields) and imports it into a fresh store. The
invariant: either a named :class:`~analytics.errors.EscalationInsightsError` and nothing
written, or a completed import whose rows read = inserted + updated + unchanged + quarantined
and whose rows are all really in the store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import EscalationInsightsError

MUTATIONS = (
    "flip_bytes",
    "insert_quote",
    "insert_delimiter",
    "truncate",
    "nul_bytes",
    "add_bom",
    "duplicate_lines",
    "delete_lines",
    "latin1_garbage",
    "huge_field",
    "swap_header",
    "newline_mix",
    "empty_fields",
    "formula_cells",
)


@dataclass(frozen=True)
class FuzzOutcome:
    mutation: str
    source: str
    status: str  # "imported", "rejected" (named error) or "crash"
    detail: str


def mutate(data: bytes, rng: random.Random, mutation: str) -> bytes:
    """Apply one named mutation to an export's bytes."""
    b = bytearray(data)
    if not b:
        return bytes(b)
    pos = rng.randrange(len(b))
    if mutation == "flip_bytes":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
    elif mutation == "insert_quote":
        b[pos:pos] = b'"' * rng.randint(1, 3)
    elif mutation == "insert_delimiter":
        b[pos:pos] = rng.choice([b",", b";", b"\t", b"|", b",,,"])
    elif mutation == "truncate":
        del b[rng.randrange(1, len(b)) :]
    elif mutation == "nul_bytes":
        b[pos:pos] = b"\x00" * rng.randint(1, 4)
    elif mutation == "add_bom":
        b[0:0] = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])
    elif mutation in (
        "duplicate_lines",
        "delete_lines",
        "swap_header",
        "newline_mix",
        "empty_fields",
        "formula_cells",
    ):
        lines = bytes(b).split(b"\n")
        if mutation == "duplicate_lines" and len(lines) > 2:
            i = rng.randrange(1, len(lines))
            lines[i:i] = [lines[i]] * rng.randint(1, 3)
        elif mutation == "delete_lines" and len(lines) > 2:
            del lines[rng.randrange(1, len(lines))]
        elif mutation == "swap_header" and len(lines) > 2:
            lines[0], lines[1] = lines[1], lines[0]
        elif mutation == "newline_mix":
            lines = [ln + (b"\r" if rng.random() < 0.5 else b"") for ln in lines]
        elif mutation == "empty_fields" and len(lines) > 1:
            i = rng.randrange(1, len(lines))
            lines[i] = b",".join(b"" for _ in lines[i].split(b","))
        elif mutation == "formula_cells" and len(lines) > 1:
            i = rng.randrange(1, len(lines))
            lines[i] = lines[i].replace(b",", b',=HYPERLINK("http://x"),', 1)
        b = bytearray(b"\n".join(lines))
    elif mutation == "latin1_garbage":
        b[pos:pos] = bytes(rng.randrange(128, 256) for _ in range(rng.randint(1, 6)))
    elif mutation == "huge_field":
        b[pos:pos] = b"x" * rng.choice([70_000, 600_000])
    return bytes(b)


def run_case(source: Path, mutation: str, seed: int, workdir: Path) -> FuzzOutcome:
    """Mutate ``source`` and import it into a fresh in-memory store; check the invariant."""
    from analytics.ingest import import_file
    from analytics.store import connect

    rng = random.Random(seed)
    damaged = workdir / f"fuzz_{seed}{source.suffix}"
    damaged.write_bytes(mutate(source.read_bytes(), rng, mutation))
    con = connect(":memory:")
    try:
        try:
            result = import_file(con, damaged, preset="auto")
        except EscalationInsightsError as exc:
            written = con.execute(
                "SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM imports)"
            ).fetchone()[0]
            if written:
                return FuzzOutcome(
                    mutation, source.name, "crash", f"error but {written} rows written: {exc}"
                )
            return FuzzOutcome(mutation, source.name, "rejected", str(exc)[:200])
        except Exception as exc:  # anything unnamed is a crash for this harness
            return FuzzOutcome(mutation, source.name, "crash", f"{type(exc).__name__}: {exc}"[:500])
        total = result.inserted + result.updated + result.unchanged + result.quarantined
        stored = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        held = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        if total != result.rows_read or stored != result.inserted or held != result.quarantined:
            return FuzzOutcome(
                mutation,
                source.name,
                "crash",
                f"identity broken: {result} stored={stored} quarantine={held}",
            )
        return FuzzOutcome(mutation, source.name, "imported", result.summary())
    finally:
        con.close()
        damaged.unlink(missing_ok=True)


def campaign(sources: list[Path], n: int, seed: int, workdir: Path) -> list[FuzzOutcome]:
    """``n`` cases cycling through sources and mutations, deterministic for a seed."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        source = sources[i % len(sources)]
        mutation = MUTATIONS[rng.randrange(len(MUTATIONS))]
        out.append(run_case(source, mutation, seed * 100_000 + i, workdir))
    return out
