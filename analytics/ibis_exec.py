"""Run Ibis expressions on DuckDB without paying Ibis's compiler on every query.

Ibis compiles an expression to SQL each time it executes it (sqlglot: 5-40 ms per query
on these machines, more than DuckDB needs to answer most Overview queries on a million
cases), and Ibis 12 inlines ``ibis.param`` values as literals at compile time, so it cannot
compile once and bind new values. Dashboard queries repeat a few *shapes* with new filter
values, so this module does it:

- :func:`execute`: the expression's string, date and timestamp literals in value positions
  (compared with, matched against, returned as a label) become named parameters; the
  expression minus those values is its *shape*. The first time a shape is seen, Ibis's own
  DuckDB compiler compiles it, each parameter rendered as a typed ``$pN``; later the SQL
  runs on the expression's own cursor with that expression's values bound. Literals in any
  other position (a date part, a format, a quantile) stay literals, part of the shape.
- :func:`execute_on`: for a query built on a filtered table, also skips *building* the
  query with Ibis after the first call (Ibis's expression building costs as much as a small
  DuckDB query): it is built once per shape on a stand-in table, with Ibis parameters for
  its own values, and the filtered table's SQL is spliced in as a CTE.

DuckDB folds bound values like literals (``EXPLAIN ANALYZE`` shows the same zone-map pruning
of ``created_at`` row groups). The analytics stay plain, portable Ibis: on any other backend
(Spark...), or for expressions holding in-memory tables or UDFs, these are Ibis's own
``execute`` (with ``params``). A shape that does not compile cleanly falls back to it too,
and that is remembered. Compiled shapes are kept per process (least recently used dropped).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import pandas as pd
import sqlglot.expressions as sge

#: Compiled shapes kept per process (a few kB of SQL each).
CACHE_SIZE = 512
#: Literal types that become parameters: the values that change between dashboard queries.
_LIFTED = (dt.String, dt.Date, dt.Timestamp)
#: Where a literal is a value that a bound parameter can replace, by operation and argument.
#: Anything else (``DATE_DIFF``'s unit, a ``strftime`` format...) stays a literal.
_VALUE_ARGS: tuple[tuple[type, frozenset[str]], ...] = (
    (ops.Binary, frozenset({"left", "right"})),  # comparisons, arithmetic
    (ops.InValues, frozenset({"options"})),
    (ops.Between, frozenset({"lower_bound", "upper_bound"})),
    (ops.Coalesce, frozenset({"arg"})),
    (ops.IfElse, frozenset({"true_expr", "false_null_expr"})),
    (ops.SearchedCase, frozenset({"results", "default"})),
    (ops.SimpleCase, frozenset({"cases", "results", "default"})),
    (ops.StringContains, frozenset({"needle"})),
    (ops.StartsWith, frozenset({"start"})),
    (ops.EndsWith, frozenset({"end"})),
    (ops.NullIf, frozenset({"null_if_expr"})),
    (ops.TimestampDelta, frozenset({"left", "right"})),
    (ops.DateDelta, frozenset({"left", "right"})),
    (ops.Project, frozenset({"values"})),  # a label column: mutate(period="current")
)
#: First parameter counter of :func:`execute_on`'s own parameters.
_NAMED = 1 << 40
#: The name of the stand-in for the filtered table in :func:`execute_on`'s queries.
_STAND_IN = "__ibis_exec_base__"
#: Marks a parameter's place in the SQL while compiling a shape (never sent to DuckDB).
_SENTINEL = "__ibis_exec_param_{}__"
#: Nodes that need Ibis's own execution path (registration before the query runs).
_NEEDS_IBIS = (ops.InMemoryTable, ops.ScalarUDF, ops.AggUDF)


@dataclass(frozen=True)
class _Compiled:
    sql: str | None  # None: this shape runs through Ibis (see module doc)
    used: tuple[int, ...]  # the values the SQL refers to
    named: tuple[int, ...] = ()  # :func:`execute_on`: the build's parameters it refers to
    tree: sge.Expression | None = None  # the SQL as a tree, for :func:`execute_on`


@dataclass
class Stats:
    """Counters since the process started (or :func:`clear`): for benchmarks and tests."""

    compiled: int = 0
    reused: int = 0
    through_ibis: int = 0


_cache: OrderedDict[tuple, _Compiled] = OrderedDict()
_lock = threading.Lock()
stats = Stats()


def clear() -> None:
    """Forget every compiled shape and reset :data:`stats`."""
    with _lock:
        _cache.clear()
        stats.compiled = stats.reused = stats.through_ibis = 0


def execute(expr: ibis.Table) -> pd.DataFrame:
    """``expr.execute()``, with the compiled SQL reused across filter values on DuckDB."""
    op = expr.op()
    source = _duckdb_source(op)
    if source is None:
        stats.through_ibis += 1
        return expr.execute()
    shape = _Shape(op)
    compiled = _cached(shape.key, lambda: _compile(source, shape.template(op)))
    if compiled.sql is None:
        stats.through_ibis += 1
        return expr.execute()
    params = {f"p{i}": shape.values[i] for i in compiled.used}
    return source.con.execute(compiled.sql, params or None).df()


def execute_on(
    base: ibis.Table, build: Callable[..., ibis.Table], *args: Hashable, **values: Any
) -> pd.DataFrame:
    """``build(base, *args, **params)`` executed with ``params`` bound to ``values``.

    For queries that are built on a filtered table (``base``) and take a few values of
    their own (period bounds): ``build`` receives each value as an Ibis scalar parameter.
    On DuckDB the query is built and compiled once per shape of ``base``, ``build`` and
    ``args`` (so it must depend on nothing else: a module-level function, hashable ``args``),
    on a stand-in table, and ``base``'s own SQL (see :func:`execute`) is spliced in as a
    ``NOT MATERIALIZED`` CTE: later calls skip Ibis entirely but for ``base``. Elsewhere it
    is ``build(base, *args, **ibis_params).execute(params=...)``.
    """
    names = tuple(sorted(values))
    dtypes = tuple(ibis.literal(values[n]).type() for n in names)
    op = base.op()
    source = _duckdb_source(op)
    if source is not None:
        shape = _Shape(op)
        key = ("on", build, args, names, dtypes, shape.key)
        compiled = _cached(
            key, lambda: _compile_on(source, base, shape, build, args, names, dtypes)
        )
        if compiled.sql is not None:
            params = {f"p{i}": shape.values[i] for i in compiled.used}
            params |= {f"q{i}": values[names[i]] for i in compiled.named}
            return source.con.execute(compiled.sql, params or None).df()
    stats.through_ibis += 1
    params = {n: ibis.param(t) for n, t in zip(names, dtypes, strict=True)}
    expr = build(base, *args, **params)
    return expr.execute(params={params[n]: values[n] for n in names})


def _cached(key: tuple, compile_: Callable[[], _Compiled]) -> _Compiled:
    with _lock:
        compiled = _cache.get(key)
        if compiled is not None:
            _cache.move_to_end(key)
            stats.reused += 1
            return compiled
    compiled = compile_()
    with _lock:
        _cache[key] = compiled
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        stats.compiled += 1
    return compiled


def _duckdb_source(op: ops.Node):
    """The DuckDB backend every table of ``op`` lives on, or None (use Ibis's path)."""
    if op.find(_NEEDS_IBIS):
        return None
    sources = {id(t.source): t.source for t in op.find(ops.DatabaseTable)}
    if len(sources) != 1:
        return None
    (source,) = sources.values()
    return source if getattr(source, "name", None) == "duckdb" else None


def _value_args(node: ops.Node) -> frozenset[str]:
    for cls, names in _VALUE_ARGS:
        if isinstance(node, cls):
            return names
    return frozenset()


def _liftable(arg: Any) -> bool:
    return isinstance(arg, ops.Literal) and isinstance(arg.dtype, _LIFTED) and arg.value is not None


class _Shape:
    """The key of an expression without its lifted values, and those values in order.

    The key lists every node of the operation graph once (its type and arguments, child
    nodes by number), except that lifted literals appear as (parameter number, type) and
    tables without their backend (a cursor per call: the SQL only names the table). A flat
    list, because the graph is a DAG: nested tuples would repeat shared parents in every
    column that refers to them, and hashing or comparing them would blow up. Equal
    literals share one parameter.
    """

    def __init__(self, op: ops.Node):
        self.values: list[Any] = []
        self._params: dict[ops.Literal, int] = {}
        self._ids: dict[ops.Node, int] = {}
        self._entries: list[tuple] = []
        self._node(op)
        self.key = tuple(self._entries)

    def _param(self, literal: ops.Literal) -> int:
        i = self._params.get(literal)
        if i is None:
            i = self._params[literal] = len(self.values)
            self.values.append(literal.value)
        return i

    def _node(self, node: ops.Node) -> int:
        i = self._ids.get(node)
        if i is None:
            if isinstance(node, ops.DatabaseTable):
                entry = (ops.DatabaseTable, node.name, node.schema, node.namespace)
            else:
                lift = _value_args(node)
                entry = (type(node),) + tuple(
                    self._arg(arg, name in lift)
                    for name, arg in zip(node.__argnames__, node.__args__, strict=True)
                )
            i = self._ids[node] = len(self._entries)
            self._entries.append(entry)
        return i

    def _arg(self, arg: Any, lift: bool) -> Any:
        if lift and _liftable(arg):
            return ("$", self._param(arg), arg.dtype)
        if isinstance(arg, ops.Node):
            return ("#", self._node(arg))
        if isinstance(arg, tuple):
            return tuple(self._arg(a, lift) for a in arg)
        if isinstance(arg, Mapping):
            return tuple((k, self._arg(v, lift)) for k, v in arg.items())
        return arg

    def template(self, op: ops.Node) -> ops.Node:
        """``op`` with the lifted literals replaced by string parameters.

        Parameter counters: ``2 * i`` for string value ``i``; ``2 * i + 1`` for the string
        form of a date or timestamp, inside a cast so every node keeps its type.
        """
        memo: dict[ops.Node, ops.Node] = {}

        def param(literal: ops.Literal) -> ops.Node:
            i = self._params[literal]
            if literal.dtype.is_string():
                return ops.ScalarParameter(dt.string, counter=2 * i)
            return ops.Cast(ops.ScalarParameter(dt.string, counter=2 * i + 1), to=literal.dtype)

        def arg(value: Any, lift: bool) -> Any:
            if lift and _liftable(value):
                return param(value)
            if isinstance(value, ops.Node):
                return node(value)
            if isinstance(value, tuple):
                return tuple(arg(v, lift) for v in value)
            if isinstance(value, Mapping):
                return {k: arg(v, lift) for k, v in value.items()}
            return value

        def node(n: ops.Node) -> ops.Node:
            out = memo.get(n)
            if out is None:
                lift = _value_args(n)
                new = {
                    name: arg(a, name in lift)
                    for name, a in zip(n.__argnames__, n.__args__, strict=True)
                }
                changed = any(
                    new[k] is not a for k, a in zip(n.__argnames__, n.__args__, strict=True)
                )
                out = memo[n] = n.copy(**new) if changed else n
            return out

        return node(op)


def _to_sql(
    source, expr: ibis.Expr, names: dict[int, str], strings: set[int]
) -> tuple[sge.Expression, set[int]]:
    """Compile ``expr`` with its string parameters (counter: name) as named placeholders.

    Parameters in ``strings`` hold text and are cast to VARCHAR so DuckDB never has to guess
    a type (a bare parameter in a CASE or a UNION can be ambiguous); the others stand for a
    date, a timestamp or a number inside Ibis's own cast to that type.
    """
    counters = {p.counter: p for p in expr.op().find(ops.ScalarParameter) if p.counter in names}
    sentinels = {_SENTINEL.format(c): c for c in counters}
    varchar = source.compiler.type_mapper.from_ibis(dt.string)
    used: set[int] = set()

    def placeholder(node: sge.Expression) -> sge.Expression:
        if not (isinstance(node, sge.Literal) and node.is_string and node.this in sentinels):
            return node
        counter = sentinels[node.this]
        used.add(counter)
        value = sge.Placeholder(this=names[counter])
        return sge.Cast(this=value, to=varchar.copy()) if counter in strings else value

    bound = {p.to_expr(): _SENTINEL.format(c) for c, p in counters.items()}
    tree = source.compiler.to_sqlglot(expr, params=bound)
    # copy: Ibis reuses one sqlglot node for a literal used in several places
    tree = tree.transform(placeholder, copy=True)
    if "__ibis_exec_param_" in tree.sql(dialect=source.compiler.dialect).lower():
        raise ValueError("a value did not compile to a parameter")  # the compiler rewrote it
    return tree, used


def _compile(source, template: ops.Node) -> _Compiled:
    counters = {p.counter for p in template.find(ops.ScalarParameter)}
    names = {c: f"p{c // 2}" for c in counters}
    try:
        tree, used = _to_sql(source, template.to_expr(), names, {c for c in counters if c % 2 == 0})
    except Exception:  # any compiler trouble: Ibis's own path still works
        return _Compiled(None, ())
    values = tuple(sorted({c // 2 for c in used}))
    return _Compiled(tree.sql(dialect=source.compiler.dialect), values, tree=tree)


def _compile_on(
    source, base: ibis.Table, shape: _Shape, build, args: tuple, names: tuple, dtypes: tuple
) -> _Compiled:
    """The query of :func:`execute_on` as one statement: ``base`` as a CTE, then ``build``'s.

    ``used`` lists ``base``'s values; ``named`` the positions of ``build``'s parameters.
    """
    base_compiled = _cached(shape.key, lambda: _compile(source, shape.template(base.op())))
    if base_compiled.tree is None:
        return _Compiled(None, ())
    stand_in = ibis.table(base.schema(), name=_STAND_IN)
    # Counters far above any template's (2 * i, 2 * i + 1).
    params = {}
    for i, (name, dtype) in enumerate(zip(names, dtypes, strict=True)):
        param = ops.ScalarParameter(dt.string, counter=_NAMED + i).to_expr()
        params[name] = param if dtype.is_string() else param.cast(dtype)
    strings = {_NAMED + i for i, dtype in enumerate(dtypes) if dtype.is_string()}
    try:
        expr = build(stand_in, *args, **params)
        placeholders = {_NAMED + i: f"q{i}" for i in range(len(names))}
        tree, used = _to_sql(source, expr, placeholders, strings)
        cte = sge.CTE(
            this=base_compiled.tree.copy(),
            alias=sge.TableAlias(this=sge.to_identifier(_STAND_IN, quoted=True)),
            materialized=False,  # inlined, so DuckDB pushes filters into the scan
        )
        arg = "with_" if "with_" in type(tree).arg_types else "with"  # sqlglot >= 28: with_
        if (with_ := tree.args.get(arg)) is None:
            tree.set(arg, sge.With(expressions=[cte]))
        else:
            with_.set("expressions", [cte, *with_.expressions])
        sql = tree.sql(dialect=source.compiler.dialect)
    except Exception:  # any compiler trouble: Ibis's own path still works
        return _Compiled(None, ())
    return _Compiled(sql, base_compiled.used, tuple(sorted(c - _NAMED for c in used)))
