"""Read export files into a staging relation of text columns, keeping every bad record.

Every format ends up the same way: a temporary DuckDB table ``<name>`` whose
columns are the export's own headers (all ``VARCHAR``, so nothing is lost to
type guessing) plus ``_row``, the 1-based record number; and a list of
records that could not even be parsed (:class:`Reject`), each with the raw
text and a reason a person understands. Type conversion and validation happen
later, in :mod:`analytics.ingest`, in one SQL pass.

CSV is read by DuckDB without loading the file into Python (1M rows stream
through in seconds). Encodings other than UTF-8 are transcoded to a UTF-8
temporary file first, because DuckDB would otherwise reject every line with an
accented character.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analytics.errors import ExportFormatError
from analytics.store import quote_ident, quote_literal

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl", "parquet")
#: Longest CSV record accepted; longer ones are quarantined, not loaded.
MAX_RECORD_BYTES = 8 * 1024 * 1024
#: How much of a rejected record's raw text is kept in the quarantine.
MAX_RAW_CHARS = 20_000

_CSV_ERROR_TEXT = {
    "TOO MANY COLUMNS": "the record has more fields than the header (a stray delimiter or an unquoted comma?)",
    "MISSING COLUMNS": "the record has fewer fields than the header",
    "UNQUOTED VALUE": "a quoted field is never closed (the file may be truncated)",
    "LINE SIZE OVER MAXIMUM": f"the record is larger than {MAX_RECORD_BYTES // (1024 * 1024)} MB",
    "INVALID ENCODING": "the record is not valid text in the file's encoding",
    "INVALID UNICODE": "the record is not valid UTF-8 (the file mixes encodings)",
}


@dataclass(frozen=True)
class Reject:
    """A record that could not be parsed: where it is, its raw text, and why."""

    row_number: int
    raw: str
    reason: str


@dataclass
class StagedFile:
    """A readable source of text columns plus ``_row``, and the records that failed to parse.

    ``source`` is SQL usable in a FROM clause: a temporary table for most formats, or
    a streaming ``read_csv(...)`` scan for CSV (so a large file is read once, straight
    into normalisation). ``params`` are its named parameters. For CSV, ``rejects`` and
    ``n_rows`` are known only after the scan: call :meth:`collect` then.
    """

    source: str
    columns: list[str]
    n_rows: int | None
    rejects: list[Reject] = field(default_factory=list)
    format: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None
    params: dict = field(default_factory=dict)
    rejects_table: str | None = None
    _cleanup: list[Path] = field(default_factory=list, repr=False)

    @property
    def rows_read(self) -> int:
        """Records in the file: parsed rows plus rejected records."""
        if self.n_rows is None:
            raise RuntimeError("call collect() after scanning a CSV source")
        return self.n_rows + len(self.rejects)

    def collect(
        self, con: duckdb.DuckDBPyConnection, n_rows: int, limit: int | None = None
    ) -> None:
        """Record the parsed row count and gather parse rejects after the scan ran."""
        self.n_rows = n_rows
        if self.rejects_table is None:
            return
        self.rejects = [
            Reject(int(line), (raw or "")[:MAX_RAW_CHARS], _CSV_ERROR_TEXT.get(kind, message))
            for line, kind, raw, message in con.execute(
                f"""SELECT line, any_value(error_type), any_value(csv_line), any_value(error_message)
                    FROM {self.rejects_table} GROUP BY line ORDER BY line"""
            ).fetchall()
        ]
        if limit:
            self.rejects = self.rejects[: max(0, limit - n_rows)]

    def cleanup(self) -> None:
        for path in self._cleanup:
            path.unlink(missing_ok=True)

    def sample(
        self, con: duckdb.DuckDBPyConnection, columns: list[str], n: int = 2000
    ) -> list[tuple]:
        """The first ``n`` records' values of ``columns`` (cheap: no full scan of a CSV)."""
        if self.rejects_table is not None:  # a CSV scan: read the head of the file in Python
            index = [self.columns.index(c) for c in columns]
            out = []
            csv.field_size_limit(MAX_RECORD_BYTES)
            with open(
                self.params["csv_path"], encoding="utf-8-sig", errors="replace", newline=""
            ) as fh:
                reader = csv.reader(fh, delimiter=self.params["csv_delim"])
                try:
                    next(reader, None)
                    for row in reader:
                        if len(row) == len(self.columns):
                            out.append(tuple(row[i] for i in index))
                        if len(out) >= n:
                            break
                except csv.Error:
                    pass  # a sample is enough; the real scan reports the broken record
            return out
        select = ", ".join(quote_ident(c) for c in columns)
        return con.execute(
            f"SELECT {select} FROM {self.source} LIMIT {int(n)}", self.params
        ).fetchall()


def detect_format(path: Path, declared: str | None = None) -> str:
    """Format from an explicit choice, the file's magic bytes, or its extension."""
    if declared:
        declared = declared.lower().lstrip(".")
        if declared not in FORMATS:
            raise ExportFormatError(
                f"Unknown format '{declared}'. Use one of: {', '.join(FORMATS)}."
            )
        return declared
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        raise ExportFormatError(f"{path.name} is empty (0 bytes): there is nothing to import.")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("xls",):
        raise ExportFormatError(
            f"{path.name} is an old Excel 97 (.xls) file; save it as .xlsx or CSV and import that."
        )
    if suffix in ("ndjson", "jsonl"):
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        # One object per line is JSON Lines; one object spanning lines is a JSON document.
        first_line = stripped.split(b"\n", 1)[0].strip()
        return "jsonl" if first_line.endswith(b"}") else "json"
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """Guess a text encoding: BOMs first, then UTF-8 validity, then Windows-1252/Latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.count(b"\x00") > len(sample) // 4:
        # UTF-16 without BOM: ASCII characters leave a zero byte beside them.
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4:  # a multi-byte character cut by the sample's end
            return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _header_fields(first_line: str, delimiter: str) -> list[str]:
    row = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    return [name.strip().lstrip("\ufeff") for name in row]


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: the candidate that splits it into the most fields."""
    counts = {d: len(_header_fields(header_line, d)) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 1 else ","


def dedupe_names(names: list[str]) -> list[str]:
    """Make header names unique and non-empty (Jira repeats 'Labels' once per label)."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _transcode_to_utf8(path: Path, encoding: str) -> Path:
    """Stream a file into a UTF-8 temporary copy (DuckDB reads UTF-8 natively)."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="esc_utf8_")
    with (
        os.fdopen(fd, "w", encoding="utf-8", newline="") as out,
        open(path, encoding=encoding, errors="replace", newline="") as src,
    ):
        while chunk := src.read(1 << 20):
            out.write(chunk)
    return Path(tmp)


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    limit: int | None = None,
    engine: str = "duckdb",
) -> StagedFile:
    """Read a CSV/TSV export with DuckDB; malformed records become rejects.

    ``engine="python"`` reads with Python's csv module instead: slower, but it accepts
    what DuckDB's parser gives up on (a bare carriage return inside a quoted field).
    """
    with open(path, "rb") as fh:
        sample = fh.read(1 << 20)
    if not sample.strip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n"):
        raise ExportFormatError(f"{path.name} is empty: there is nothing to import.")
    encoding = encoding or detect_encoding(sample)
    cleanup: list[Path] = []
    source_path = path
    if encoding not in ("utf-8", "utf-8-sig"):
        source_path = _transcode_to_utf8(path, encoding)
        cleanup.append(source_path)
    with open(source_path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        header_line = fh.readline().rstrip("\r\n")
        has_data = bool(fh.readline().strip())
    if not header_line.strip():
        raise ExportFormatError(
            f"{path.name} starts with an empty line; the first line must be the header."
        )
    delimiter = delimiter or sniff_delimiter(header_line)
    columns = dedupe_names(_header_fields(header_line, delimiter))
    if not has_data:
        for p in cleanup:
            p.unlink(missing_ok=True)
        raise ExportFormatError(f"{path.name} has a header but no data rows: nothing to import.")
    if engine == "python":
        staged = _stage_csv_python(con, source_path, table, columns, delimiter, limit)
        staged.encoding, staged._cleanup = encoding, cleanup
        return staged
    rejects_table = f"{table}_rejects"
    con.execute(f"DROP TABLE IF EXISTS {rejects_table}")
    con.execute(f"DROP TABLE IF EXISTS {table}_scans")
    select_list = ", ".join(quote_ident(c) for c in columns)
    limit_sql = "LIMIT $csv_limit" if limit else ""
    # auto_detect=false: the sniffer misjudges quoting when a file has one broken
    # record; we know the header, the delimiter and that exports quote with '"'.
    # row_number() OVER () runs as a streaming window here, so numbering costs nothing.
    source = f"""(SELECT row_number() OVER () AS _row, {select_list}
        FROM read_csv($csv_path, auto_detect=false, header=true, columns=$csv_columns,
                      delim=$csv_delim, quote='"', escape='"', strict_mode=true,
                      ignore_errors=true, store_rejects=true, rejects_table='{rejects_table}',
                      rejects_scan='{table}_scans', max_line_size={MAX_RECORD_BYTES})
        {limit_sql})"""
    params = {
        "csv_path": str(source_path),
        "csv_columns": {c: "VARCHAR" for c in columns},
        "csv_delim": delimiter,
    }
    if limit:
        params["csv_limit"] = limit
    fmt = "tsv" if delimiter == "\t" else "csv"
    return StagedFile(
        source, columns, None, [], fmt, encoding, delimiter, params, rejects_table, cleanup
    )


def _stage_csv_python(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    columns: list[str],
    delimiter: str,
    limit: int | None,
) -> StagedFile:
    import pyarrow as pa

    csv.field_size_limit(MAX_RECORD_BYTES)
    width = len(columns)
    rejects: list[Reject] = []
    batches: list[pa.RecordBatch] = []
    buffer: list[list[str]] = []
    numbers: list[int] = []
    record = 0

    def flush() -> None:
        if buffer:
            cols = list(zip(*buffer, strict=True))
            batches.append(
                pa.record_batch(
                    [pa.array(numbers, pa.int64())]
                    + [pa.array([v or None for v in c], pa.string()) for c in cols],
                    names=["_row", *columns],
                )
            )
            buffer.clear()
            numbers.clear()

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        try:
            next(reader)  # header
            while True:
                line = reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    rejects.append(Reject(line, "", f"the record cannot be parsed ({exc})"))
                    continue
                if not fields:
                    continue
                record += 1
                if limit and record > limit:
                    break
                if len(fields) != width:
                    kind = "TOO MANY COLUMNS" if len(fields) > width else "MISSING COLUMNS"
                    raw = delimiter.join(fields)[:MAX_RAW_CHARS]
                    rejects.append(Reject(line, raw, _CSV_ERROR_TEXT[kind]))
                    continue
                buffer.append(fields)
                numbers.append(record)
                if len(buffer) >= 50_000:
                    flush()
        except csv.Error as exc:  # e.g. a field larger than the limit ends the file
            rejects.append(
                Reject(reader.line_num, "", f"the rest of the file cannot be parsed ({exc})")
            )
    flush()
    arrow = pa.Table.from_batches(
        batches, schema=pa.schema([("_row", pa.int64())] + [(c, pa.string()) for c in columns])
    )
    con.register("_csv_arrow", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _csv_arrow")
    finally:
        con.unregister("_csv_arrow")
    fmt = "tsv" if delimiter == "\t" else "csv"
    return StagedFile(table, columns, arrow.num_rows, rejects, fmt, None, delimiter)


def _iter_xlsx_rows(path: Path) -> Iterator[tuple]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged zip/xml
        raise ExportFormatError(f"{path.name} is not a readable .xlsx workbook ({exc}).") from exc
    try:
        ws = wb.worksheets[0]
        yield from ws.iter_rows(values_only=True)
    finally:
        wb.close()


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 12345 as 12345.0
    return str(value)


def stage_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, *, limit: int | None = None
) -> StagedFile:
    """Read the first worksheet of an .xlsx workbook into ``table``."""
    import pyarrow as pa

    rows = _iter_xlsx_rows(path)
    header = next(rows, None)
    while header is not None and all(v is None for v in header):
        header = next(rows, None)
    if header is None:
        raise ExportFormatError(f"{path.name} has an empty first worksheet: nothing to import.")
    width = max(i + 1 for i, v in enumerate(header) if v is not None)
    columns = dedupe_names([_cell_text(v) or "" for v in header[:width]])
    data: list[list[str | None]] = [[] for _ in columns]
    row_numbers: list[int] = []
    rejects: list[Reject] = []
    n = 0
    for values in rows:
        if all(v is None for v in values):
            continue
        n += 1
        if limit and n > limit:
            break
        overflow = [v for v in values[width:] if v is not None]
        if overflow:
            raw = json.dumps([_cell_text(v) for v in values], ensure_ascii=False)
            rejects.append(
                Reject(n, raw[:MAX_RAW_CHARS], "the row has values beyond the last header column")
            )
            continue
        row_numbers.append(n)
        for i in range(width):
            data[i].append(_cell_text(values[i]) if i < len(values) else None)
    if n == 0:
        raise ExportFormatError(f"{path.name} has a header but no data rows: nothing to import.")
    arrow = pa.table(
        {
            "_row": pa.array(row_numbers, pa.int64()),
            **{c: pa.array(d, pa.string()) for c, d in zip(columns, data, strict=True)},
        }
    )
    con.register("_xlsx_arrow", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _xlsx_arrow")
    finally:
        con.unregister("_xlsx_arrow")
    return StagedFile(table, columns, len(row_numbers), rejects, "xlsx")


def stage_json(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, fmt: str, *, limit: int | None = None
) -> StagedFile:
    """Read JSON (an array of objects, or an object wrapping one) or JSON Lines into ``table``.

    Nested objects are flattened one level ("via.channel"); lists are kept as JSON text.
    Lines of JSON Lines that are not valid JSON objects become rejects.
    """
    lines = f"{table}_lines"
    if fmt == "jsonl":
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {lines} AS
                SELECT row_number() OVER () AS _row, line FROM read_csv(?, auto_detect=false,
                    header=false, columns={{'line': 'VARCHAR'}}, delim=chr(1), quote='', escape='',
                    max_line_size={MAX_RECORD_BYTES}, ignore_errors=true)
                WHERE trim(line) <> ''""",
            [str(path)],
        )
    elif _first_char(path) == "[":
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {lines} AS
                SELECT row_number() OVER () AS _row, to_json(json)::VARCHAR AS line
                FROM read_json(?, format='array', records=false, maximum_object_size=67108864)""",
            [str(path)],
        )
    else:
        # An object wrapping the records ({"tickets": [...]}, as API exports do).
        doc = _load_wrapped_json(path)
        import pyarrow as pa

        arrow = pa.table(
            {
                "_row": pa.array(range(1, len(doc) + 1), pa.int64()),
                "line": pa.array([json.dumps(o, ensure_ascii=False) for o in doc], pa.string()),
            }
        )
        con.register("_json_arrow", arrow)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {lines} AS SELECT * FROM _json_arrow")
        finally:
            con.unregister("_json_arrow")
    if limit:
        con.execute(f"DELETE FROM {lines} WHERE _row > ?", [limit])
    total = con.execute(f"SELECT count(*) FROM {lines}").fetchone()[0]
    if total == 0:
        raise ExportFormatError(f"{path.name} holds no records: nothing to import.")
    bad = con.execute(
        f"""SELECT _row, line FROM {lines}
            WHERE NOT coalesce(json_valid(line), false) OR json_type(line::JSON) <> 'OBJECT'
            ORDER BY _row"""
    ).fetchall()
    rejects = [
        Reject(int(r), (raw or "")[:MAX_RAW_CHARS], "the line is not a complete JSON object")
        for r, raw in bad
    ]
    good = f"(SELECT * FROM {lines} WHERE json_valid(line) AND json_type(line::JSON) = 'OBJECT')"
    keys = [
        k
        for (k,) in con.execute(
            f"""SELECT k FROM (SELECT unnest(json_keys(line)) AS k, _row FROM {good})
                GROUP BY k ORDER BY min(_row), k"""
        ).fetchall()
    ]
    select_parts: list[str] = []
    columns: list[str] = []
    for key in keys:
        path_expr = "$." + json.dumps(key)
        sub = [
            s
            for (s,) in con.execute(
                f"""SELECT s FROM (SELECT unnest(json_keys(json_extract(line, ?))) AS s FROM {good}
                    WHERE json_type(json_extract(line, ?)) = 'OBJECT') GROUP BY s ORDER BY s""",
                [path_expr, path_expr],
            ).fetchall()
        ]
        if sub:
            for s in sub:
                name = f"{key}.{s}"
                columns.append(name)
                select_parts.append((path_expr + "." + json.dumps(s), name))
        else:
            columns.append(key)
            select_parts.append((path_expr, key))
    columns = dedupe_names(columns)
    exprs = ", ".join(
        f"json_extract_string(line, ?) AS {quote_ident(name)}"
        for (_, name) in zip(select_parts, columns, strict=True)
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT _row, {exprs} FROM {good}",
        [p for p, _ in select_parts],
    )
    con.execute(f"DROP TABLE {lines}")
    n_rows = total - len(rejects)
    return StagedFile(table, columns, n_rows, rejects, fmt)


def _first_char(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1].decode("ascii", errors="replace")


def _load_wrapped_json(path: Path) -> list:
    """A JSON document that is an object wrapping a list of records ({"tickets": [...]})."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            doc = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportFormatError(
            f"{path.name} is not valid JSON ({exc}); if it was cut off, export it again."
        ) from exc
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
    if isinstance(doc, list):
        return doc
    raise ExportFormatError(
        f"{path.name} is JSON but not a list of records (or an object wrapping one)."
    )


def stage_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, *, limit: int | None = None
) -> StagedFile:
    """Read a Parquet file into ``table``, casting every column to text.

    Time-zone-aware timestamps are written with their UTC offset, so the importer
    converts them exactly; structs are flattened one level like JSON.
    """
    try:
        schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise ExportFormatError(f"{path.name} is not a readable Parquet file ({exc}).") from exc
    parts, columns = [], []
    for name, dtype, *_ in schema:
        src = quote_ident(name)
        if dtype.startswith("STRUCT"):
            for f in _struct_fields(dtype):
                columns.append(f"{name}.{f}")
                parts.append(f"CAST(struct_extract({src}, {quote_literal(f)}) AS VARCHAR)")
            continue
        columns.append(name)
        if dtype == "TIMESTAMP WITH TIME ZONE":
            parts.append(f"strftime(timezone('UTC', {src}), '%Y-%m-%dT%H:%M:%S.%fZ')")
        elif dtype.endswith("[]") or dtype.startswith(("MAP", "LIST")):
            parts.append(f"to_json({src})::VARCHAR")
        else:
            parts.append(f"CAST({src} AS VARCHAR)")
    columns = dedupe_names(columns)
    select = ", ".join(f"{p} AS {quote_ident(c)}" for p, c in zip(parts, columns, strict=True))
    limit_sql = "LIMIT ?" if limit else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT row_number() OVER () AS _row, {select} FROM read_parquet(?) {limit_sql}""",
        [str(path)] + ([limit] if limit else []),
    )
    n_rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if n_rows == 0:
        raise ExportFormatError(f"{path.name} holds no rows: nothing to import.")
    return StagedFile(table, columns, n_rows, [], "parquet")


def _struct_fields(dtype: str) -> list[str]:
    """Field names of a DuckDB STRUCT type string, top level only."""
    inner = dtype[len("STRUCT(") : -1]
    fields, depth, current = [], 0, ""
    for ch in inner:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            fields.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        fields.append(current.strip())
    names = []
    for f in fields:
        name = f.split(" ", 1)[0]
        names.append(name.strip('"'))
    return names


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    table: str = "_stage",
    *,
    fmt: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    limit: int | None = None,
    csv_engine: str = "duckdb",
) -> StagedFile:
    """Stage any supported export into the temporary table ``table``. See module docstring."""
    path = Path(path)
    if not path.exists():
        raise ExportFormatError(f"No file at {path}.")
    if path.stat().st_size == 0:
        raise ExportFormatError(f"{path.name} is empty (0 bytes): there is nothing to import.")
    fmt = detect_format(path, fmt)
    try:
        if fmt in ("csv", "tsv"):
            staged = stage_csv(
                con,
                path,
                table,
                delimiter=delimiter or ("\t" if fmt == "tsv" else None),
                encoding=encoding,
                limit=limit,
                engine=csv_engine,
            )
        elif fmt == "xlsx":
            staged = stage_xlsx(con, path, table, limit=limit)
        elif fmt in ("json", "jsonl"):
            staged = stage_json(con, path, table, fmt, limit=limit)
        else:
            staged = stage_parquet(con, path, table, limit=limit)
    except duckdb.Error as exc:
        raise ExportFormatError(f"{path.name} could not be read as {fmt.upper()}: {exc}") from exc
    return staged
