"""Apache Spark as the analytics engine: one session per process and the cases table on it.

``ESC_BACKEND`` chooses the engine (see docs/SPARK.md)::

    duckdb                                   the local store (default)
    spark-local[2]:/data/cases               Spark in this process, Parquet directory
    spark://HOST:7077?cases=lake.esc.cases   a standalone cluster, a catalog table
    sc://HOST:15002:s3a://bucket/cases       Spark Connect, Parquet in object storage
    spark?cases=esc.cases                    the session spark-submit / Databricks configured

Only the escalation history is read from Spark; app state (alerts, reviews, audit log...)
stays in the local DuckDB store. The cases are exposed as a temporary view with the
canonical schema (:mod:`analytics.schema`): missing columns are typed NULLs, timestamps are
``TIMESTAMP_NTZ`` in UTC and the ``year``/``month`` partition columns of an export are
dropped, so every ``analytics`` function sees the same table as on DuckDB.

Threads: Streamlit runs each browser session in its own thread. PySpark (pinned-thread mode,
the default since 3.2) maps each Python thread to its own JVM thread, and a SparkSession
accepts concurrent queries; what is *not* safe is creating sessions or (re)registering the
view concurrently, so both happen under one lock here. Queries are scheduled FAIR so a long
query does not queue short ones behind it. The tests run four threads at once.

Three changes to Ibis 12's PySpark compiler keep results identical to DuckDB and scans
cheap: epoch seconds keep their microseconds (Spark's ``unix_timestamp`` truncates to whole
seconds, and ``x / 3600.0`` is DECIMAL arithmetic rounded to 6 places); ``median(where=)``
compiles (Ibis passes a non-constant percentage, which Spark rejects); and naive timestamp
literals are ``TIMESTAMP_NTZ`` like the columns (a ``TIMESTAMP`` literal makes Spark cast the
column, which disables Parquet filter pushdown: every date filter read every row group).
Medians and quantiles are exact (``percentile``) unless ``quantiles=approx`` asks for
``percentile_approx`` (bounded rank error, see docs/SCALING.md).
"""

from __future__ import annotations

import os
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import ibis

from analytics.errors import EngineError
from analytics.schema import CASE_COLUMNS, SYSTEM_COLUMNS

#: Prefix of the temporary view holding the cases in the Spark session (one per source).
VIEW = "escalation_cases"
#: Partition columns written by :func:`analytics.lake.export_partitioned_parquet`.
PARTITION_COLUMNS = ("year", "month")
#: How long a source fingerprint (file listing) is trusted before it is taken again.
FRESHNESS_SECONDS = 30.0
#: Default accuracy of ``percentile_approx`` (relative rank error 1 / accuracy).
DEFAULT_ACCURACY = 10_000

_SPARK_TYPES = {
    "VARCHAR": "string",
    "TIMESTAMP": "timestamp_ntz",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "BOOLEAN": "boolean",
    "DOUBLE": "double",
    "JSON": "string",
}
_MASTER = re.compile(
    r"^(?P<master>spark-local(?:\[(?:\d+|\*)\])?|spark://[^/:?]+:\d+|sc://[^/:?]+(?::\d+)?"
    r"|spark-yarn|spark-k8s://[^/:?]+(?::\d+)?|spark)(?::(?P<source>[^?]+))?(?:\?(?P<query>.*))?$"
)


@dataclass(frozen=True)
class SparkTarget:
    """A parsed ``ESC_BACKEND`` value that names Spark."""

    master: str | None  # Spark master URL; None = the builder's defaults (spark-submit, ...)
    remote: str | None  # Spark Connect URL (sc://host:port) instead of a master
    source: str  # "parquet:PATH", "delta:PATH" or "table:NAME"
    quantiles: str = "exact"  # "exact" (percentile) or "approx" (percentile_approx)
    accuracy: int = DEFAULT_ACCURACY
    conf: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_local(self) -> bool:
        return bool(self.master and self.master.startswith("local"))

    @property
    def source_kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def location(self) -> str:
        return self.source.split(":", 1)[1]


def parse_backend(value: str) -> SparkTarget | None:
    """Parse ``ESC_BACKEND``: None for DuckDB, else the Spark target (see module docstring).

    Raises :class:`EngineError` for a value that names neither engine.
    """
    value = (value or "duckdb").strip()
    if value.lower() == "duckdb":
        return None
    m = _MASTER.match(value)
    if not m:
        raise EngineError(
            f"ESC_BACKEND={value!r} is not understood: use duckdb, spark-local[N], "
            "spark://HOST:PORT, sc://HOST:PORT, spark-yarn, spark-k8s://HOST:PORT or spark, "
            "optionally followed by :SOURCE (a Parquet path or a catalog table) and ?options."
        )
    options = dict(parse_qsl(m["query"] or "", keep_blank_values=True))
    source = options.pop("cases", None) or m["source"] or "cases"
    quantiles = options.pop("quantiles", "exact")
    if quantiles not in ("exact", "approx"):
        raise EngineError(f"ESC_BACKEND option quantiles={quantiles!r}: use exact or approx.")
    try:
        accuracy = int(options.pop("accuracy", DEFAULT_ACCURACY))
    except ValueError as exc:
        raise EngineError("ESC_BACKEND option accuracy must be a whole number.") from exc
    conf = tuple(sorted((k[5:], v) for k, v in options.items() if k.startswith("conf.")))
    unknown = sorted(k for k in options if not k.startswith("conf."))
    if unknown:
        raise EngineError(f"Unknown ESC_BACKEND option(s): {', '.join(unknown)}.")
    master, remote = _master(m["master"])
    return SparkTarget(master, remote, _source(source), quantiles, accuracy, conf)


def _master(spec: str) -> tuple[str | None, str | None]:
    if spec == "spark":
        return None, None
    if spec.startswith("spark-local"):
        return "local" + (spec[len("spark-local") :] or "[*]"), None
    if spec.startswith("sc://"):
        return None, spec
    if spec == "spark-yarn":
        return "yarn", None
    if spec.startswith("spark-k8s://"):
        return "k8s://https://" + spec[len("spark-k8s://") :], None
    return spec, None  # spark://host:port


def _source(text: str) -> str:
    """``parquet:``/``delta:`` + location, or ``table:`` + catalog name."""
    kind, _, rest = text.partition(":")
    if kind in ("parquet", "delta", "table") and rest:
        text = rest
    else:
        kind = "parquet" if ("/" in text or "\\" in text) else "table"
    if kind != "table" and "://" not in text and not text.startswith("file:"):
        text = str(Path(text).expanduser().resolve())
    return f"{kind}:{text}"


# --------------------------------------------------------------------------------------------
# Ibis backend with the compiler fixes
# --------------------------------------------------------------------------------------------


def _backend_class(quantiles: str, accuracy: int):
    """An Ibis PySpark backend class whose compiler matches DuckDB's results (see module doc)."""
    import ibis.expr.datatypes as dt
    import sqlglot.expressions as sge
    from ibis.backends.pyspark import Backend
    from ibis.backends.sql.compilers.base import NULL
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    class Compiler(PySparkCompiler):
        __slots__ = ()

        def visit_NonNullLiteral(self, op, *, value, dtype):
            if dtype.is_timestamp() and dtype.timezone is None:
                # Compare TIMESTAMP_NTZ columns with NTZ literals: a TIMESTAMP literal makes
                # Spark cast the column on every row, which defeats Parquet filter pushdown.
                ntz = sge.DataType.build("TIMESTAMP_NTZ", dialect="spark")
                return sge.Cast(this=sge.convert(value.isoformat()), to=ntz)
            return super().visit_NonNullLiteral(op, value=value, dtype=dtype)

        def visit_ExtractEpochSeconds(self, op, *, arg):
            micros = self.f.unix_micros(self.cast(arg, dt.timestamp))
            return self.cast(micros, dt.float64) / 1_000_000

        def _percentile(self, arg, quantile, where):
            if where is not None:
                arg = self.if_(where, arg, NULL)
            if quantiles == "approx":
                return self.f.percentile_approx(self.cast(arg, dt.float64), quantile, accuracy)
            return self.f.percentile(arg, quantile)

        def visit_Median(self, op, *, arg, where):
            return self._percentile(arg, 0.5, where)

        def visit_Quantile(self, op, *, arg, quantile, where):
            return self._percentile(arg, quantile, where)

        visit_MultiQuantile = visit_Quantile

    class EscalationSparkBackend(Backend):
        compiler = Compiler()

    return EscalationSparkBackend


# --------------------------------------------------------------------------------------------
# Session and the cases view
# --------------------------------------------------------------------------------------------


def default_conf(master: str | None) -> dict[str, str]:
    """Spark settings this app sets on sessions it creates (a cluster's own config still wins
    for anything not listed; ``conf.KEY=VALUE`` options override these)."""
    conf = {
        "spark.app.name": "escalation-insights",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        "spark.scheduler.mode": "FAIR",
        "spark.ui.showConsoleProgress": "false",
    }
    if master and master.startswith("local"):
        cores = master[6:-1] if master.startswith("local[") else "1"
        n = (os.cpu_count() or 2) if cores == "*" else int(cores)
        conf |= {
            "spark.ui.enabled": "false",
            "spark.driver.memory": "2g",
            "spark.sql.shuffle.partitions": str(max(4, 2 * n)),
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
        }
    return conf


def require_pyspark() -> None:
    """Raise :class:`EngineError` unless PySpark is installed (a missing Java shows up when
    the session starts, also as :class:`EngineError`)."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise EngineError(
            "ESC_BACKEND names Spark but PySpark is not installed: pip install pyspark==4.0.5."
        ) from exc


def session(
    master: str | None = None, *, remote: str | None = None, conf: dict[str, str] | None = None
):
    """A SparkSession (``getOrCreate``: one per process) with :func:`default_conf` + ``conf``."""
    require_pyspark()
    from pyspark.sql import SparkSession

    with _LOCK:
        builder = SparkSession.builder
        if remote:
            builder = builder.remote(remote)
        elif master:
            builder = builder.master(master)
        settings = default_conf(master) | dict(conf or {})
        if remote:  # static JVM settings cannot be set by a Spark Connect client
            settings = {k: v for k, v in settings.items() if k.startswith("spark.sql.")}
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - Java missing, master unreachable, ...
            where = master or remote or "default"
            raise EngineError(f"Could not start Spark ({where}): {_first_line(exc)}") from exc
        if master and master.startswith("local"):
            spark.sparkContext.setLogLevel("ERROR")
        return spark


def read_cases(spark, source: str):
    """The cases of ``source`` as a Spark DataFrame in the canonical schema."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    kind, _, location = source.partition(":")
    try:
        if kind == "parquet":
            df = spark.read.parquet(location)
        elif kind == "delta":
            df = spark.read.format("delta").load(location)
        else:
            df = spark.table(location)
    except Exception as exc:  # noqa: BLE001 - AnalysisException and friends
        msg = f"Spark cannot read the cases from {location}: {_first_line(exc)}"
        raise EngineError(msg) from exc
    present = {f.name: f for f in df.schema.fields}
    if "case_id" not in present or "created_at" not in present:
        raise EngineError(f"{location} has no case_id/created_at columns: is it the cases table?")
    canonical = CASE_COLUMNS + SYSTEM_COLUMNS
    cols = []
    for c in canonical:
        spark_type = _SPARK_TYPES[c.sql_type]
        if c.name not in present:
            cols.append(F.lit(None).cast(spark_type).alias(c.name))
            continue
        col = F.col(c.name)
        if c.sql_type == "TIMESTAMP" and isinstance(present[c.name].dataType, TimestampType):
            col = col.cast("timestamp_ntz")  # instants shown in UTC (session time zone)
        cols.append(col.cast(spark_type).alias(c.name))
    names = {c.name for c in canonical}
    extras = [n for n in df.columns if n not in names and n not in PARTITION_COLUMNS]
    return df.select(*cols, *extras)


@dataclass
class _Engine:
    target: SparkTarget
    spark: object
    backend: object
    cases: ibis.Table
    fingerprint: str
    checked_at: float


_LOCK = threading.RLock()
_ENGINES: dict[SparkTarget, _Engine] = {}


def connect(target: SparkTarget) -> _Engine:
    """The cached engine for ``target``: session, Ibis backend and the registered cases view."""
    engine = _ENGINES.get(target)
    if engine is not None:
        return engine
    with _LOCK:
        if target in _ENGINES:
            return _ENGINES[target]
        ibis.pyspark  # noqa: B018 - registers the pyspark options the compiler reads
        spark = session(target.master, remote=target.remote, conf=dict(target.conf))
        backend = _backend_class(target.quantiles, target.accuracy)().connect(spark)
        fingerprint = _fingerprint(spark, target.source)
        read_cases(spark, target.source).createOrReplaceTempView(view_name(target))
        cases = backend.table(view_name(target))
        engine = _Engine(target, spark, backend, cases, fingerprint, time.time())
        _ENGINES[target] = engine
        return engine


def view_name(target: SparkTarget) -> str:
    """The temporary view of ``target``'s cases (sources never share a view)."""
    return f"{VIEW}_{zlib.crc32(target.source.encode()):08x}"


def cases_table(target: SparkTarget) -> ibis.Table:
    """The cases as an Ibis table on Spark (cached; safe to share between threads)."""
    return connect(target).cases


_SYNCED: dict[tuple[SparkTarget, str], str] = {}


def sync_store_table(target: SparkTarget, name: str, version: str, load) -> None:
    """Make the store's table ``name`` readable on Spark as a temporary view of that name.

    Results the app keeps in DuckDB (pain-point assignments) are joined with the cases by
    analytics that only see the cases' backend (the shared filters' drill-down). ``load()``
    returns ``(DataFrame, Spark DDL schema)``; it is called again only when ``version``
    changes.
    """
    key = (target, name)
    if _SYNCED.get(key) == version:
        return
    with _LOCK:
        if _SYNCED.get(key) == version:
            return
        frame, schema = load()
        spark = connect(target).spark
        spark.createDataFrame(frame, schema=schema).createOrReplaceTempView(name)
        _SYNCED[key] = version


def source_version(target: SparkTarget) -> str:
    """A token that changes when the source's files change; re-reads the source if they did.

    Parquet/Delta paths: file count, bytes and latest modification (listed at most every
    :data:`FRESHNESS_SECONDS`). Catalog tables: the names of their current files (new data
    means new files in Hive, Delta and Iceberg tables); a catalog that cannot list files
    gets a time bucket of that length, after which the view is re-read.
    """
    engine = connect(target)
    now = time.time()
    if now - engine.checked_at < FRESHNESS_SECONDS:
        return engine.fingerprint
    with _LOCK:
        if now - engine.checked_at >= FRESHNESS_SECONDS:
            fingerprint = _fingerprint(engine.spark, target.source)
            if fingerprint != engine.fingerprint:
                refresh(target, fingerprint)
            engine.checked_at = now
    return engine.fingerprint


def refresh(target: SparkTarget, fingerprint: str | None = None) -> None:
    """Re-read the source (new files or snapshots) and re-register the view."""
    with _LOCK:
        engine = connect(target)
        if target.source_kind == "table":
            engine.spark.catalog.refreshTable(target.location)
        read_cases(engine.spark, target.source).createOrReplaceTempView(view_name(target))
        engine.fingerprint = fingerprint or _fingerprint(engine.spark, target.source)
        engine.checked_at = time.time()


def stop() -> None:
    """Stop the Spark session(s) started here and forget the cached engines (tests, shutdown)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.spark.stop()
        _ENGINES.clear()
        _SYNCED.clear()


def _fingerprint(spark, source: str) -> str:
    kind, _, location = source.partition(":")
    if kind == "table":
        try:  # file-based tables (Hive, Delta): new data means new file names
            spark.catalog.refreshTable(location)
            files = sorted(spark.table(location).inputFiles())
        except Exception:  # noqa: BLE001 - a catalog that cannot list files
            files = []
        if files:
            return f"f{len(files)}-{zlib.crc32(chr(10).join(files).encode()):08x}"
        return f"t{int(time.time() // FRESHNESS_SECONDS)}"
    if getattr(spark, "_jvm", None) is None:  # Spark Connect: the files are the server's
        return f"t{int(time.time() // FRESHNESS_SECONDS)}"
    if "://" not in location or location.startswith("file://"):
        root = Path(location.removeprefix("file://"))
        files = [p.stat() for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    else:
        files = _hadoop_listing(spark, location)
    size = sum(f.st_size for f in files)
    latest = max((f.st_mtime for f in files), default=0.0)
    return f"{len(files)}-{size}-{latest:.3f}"


@dataclass(frozen=True)
class _Stat:
    st_size: int
    st_mtime: float


def _hadoop_listing(spark, location: str) -> list[_Stat]:
    """Files under ``location`` through Hadoop's FileSystem (s3a, abfss, hdfs, gs...)."""
    path = spark._jvm.org.apache.hadoop.fs.Path(location)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    out, it = [], fs.listFiles(path, True)
    while it.hasNext():
        st = it.next()
        if not st.getPath().getName().startswith((".", "_")):
            out.append(_Stat(st.getLen(), st.getModificationTime() / 1000.0))
    return out


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
