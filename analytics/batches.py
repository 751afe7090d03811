"""Case rows in batches, for per-case work that does not belong in SQL (embeddings, clustering).

A platform-wide history does not fit in one process's memory, and text embeddings run at
~250 cases/s on a CPU: such work runs on a *sample* or in *batches* pulled from the engine,
and writes only its results (an embedding or a cluster per case id) back to the store.
:func:`iter_case_batches` does that on either engine::

    from analytics import batches, engine

    t = engine.cases_table(con)
    for frame in batches.iter_case_batches(
        t, ["case_id", "subject", "description"], batch_size=5_000,
        sample=200_000, progress=lambda stage, f: bar.progress(f, stage),
    ):
        vectors = model.encode((frame["subject"] + " " + frame["description"]).tolist())
        save(con, frame["case_id"], vectors)          # results only, keyed by case id

The sample is deterministic and engine-independent: a case is in it when the first 8 hex
digits of ``md5(case_id)`` fall below the sample's share of ``16**8``, so DuckDB and Spark
pick the same cases, a larger sample contains a smaller one, and a re-run after an import
keeps every case it already processed (only new cases need work).

DuckDB streams Arrow batches from one query. On Spark, Ibis' ``to_pyarrow_batches``
collects the whole result first, so the rows are streamed partition by partition
(``toLocalIterator``): memory stays at about one Spark partition plus one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import ibis
import pandas as pd
import pyarrow as pa

Progress = Callable[[str, float], None]
_HEX_DIGITS = 8
_SPACE = 16**_HEX_DIGITS


def sample_predicate(t: ibis.Table, fraction: float) -> ibis.Expr:
    """True for a deterministic ``fraction`` of cases (by ``md5(case_id)``, same on every engine)."""
    threshold = min(_SPACE, max(0, round(fraction * _SPACE)))
    if threshold >= _SPACE:
        return ibis.literal(True)
    bucket = t.case_id.cast("string").hexdigest("md5").substr(0, _HEX_DIGITS)
    return bucket < f"{threshold:0{_HEX_DIGITS}x}"


def sampled(t: ibis.Table, sample: float | int | None) -> tuple[ibis.Table, int]:
    """``t`` narrowed to a sample and its row count.

    ``sample``: None (every case), a fraction in (0, 1], or a number of cases (about that
    many: the fraction it is of the table, rounded up).
    """
    total = int(t.count().execute())
    if sample is None or total == 0:
        return t, total
    fraction = float(sample) if isinstance(sample, float) else min(1.0, int(sample) / total)
    if fraction >= 1.0:
        return t, total
    narrowed = t.filter(sample_predicate(t, fraction))
    return narrowed, int(narrowed.count().execute())


def iter_case_batches(
    t: ibis.Table,
    columns: Sequence[str],
    batch_size: int = 10_000,
    *,
    sample: float | int | None = None,
    progress: Progress | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield ``columns`` of the cases (optionally of a sample) as DataFrames of ``batch_size``
    rows (the last one smaller), on DuckDB or Spark.

    ``t`` may be filtered first (``filters.apply``). Batches come in the engine's order, not
    sorted: key results by ``case_id``. ``progress(stage, fraction)`` is called per batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = progress or (lambda stage, fraction: None)
    table, total = sampled(t, sample)
    report(f"Reading {total:,} cases", 0.0)
    if total == 0:
        return
    expr = table.select(*columns)
    done = 0
    for frame in _rechunk(_arrow_batches(expr, batch_size), batch_size):
        done += len(frame)
        report(f"{done:,} of {total:,} cases", min(1.0, done / total))
        yield frame


def _arrow_batches(expr: ibis.Table, batch_size: int) -> Iterator[pa.RecordBatch]:
    backend = expr.get_backend()
    if backend.name == "duckdb":
        # Ibis 12's to_pyarrow_batches calls fetch_record_batch, which DuckDB 2.0 removed.
        backend._run_pre_execute_hooks(expr)
        yield from backend.con.sql(backend.compile(expr)).to_arrow_reader(batch_size)
        return
    if backend.name != "pyspark":
        yield from expr.to_pyarrow_batches(chunk_size=batch_size)
        return
    df = backend._session.sql(backend.compile(expr))
    names = expr.columns
    schema = expr.schema().to_pyarrow()
    rows: list = []
    for row in df.toLocalIterator(prefetchPartitions=True):
        rows.append(row)
        if len(rows) >= batch_size:
            yield _rows_to_batch(rows, names, schema)
            rows = []
    if rows:
        yield _rows_to_batch(rows, names, schema)


def _rows_to_batch(rows: list, names: list[str], schema: pa.Schema) -> pa.RecordBatch:
    arrays = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    return pa.RecordBatch.from_pydict(arrays, schema=schema)


def _rechunk(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pd.DataFrame]:
    """Regroup Arrow batches of any size into DataFrames of exactly ``size`` rows."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        held += batch.num_rows
        while held >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size).to_pandas()
            rest = table.slice(size)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending).to_pandas()
