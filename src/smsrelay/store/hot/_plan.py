"""Compile a Core statement once into driver SQL plus a function that lays out its arguments.

Only SQLAlchemy's public compilation API is used: ``statement.compile(dialect=...,
column_keys=...)`` and ``SQLCompiler.construct_expanded_state(params)``, whose
``ExpandedState`` gives the final SQL text, the positional order (``positiontup``), the
parameter values and the bind processors (a ``Float``'s ``to_float`` on SQLite), exactly as
SQLAlchemy itself would send them. The caller's values are stood in for by :class:`_Slot`
markers during that one expansion, so the plan knows which position takes which caller value
(or which element of a caller's list) and which positions are constants of the statement (a
literal ``IN`` list, a LIMIT's ``OFFSET 0``), processed once here.

``arrays`` (PostgreSQL): a ``column IN (<expanding bind>)`` is rewritten before compiling to
``column = ANY(<array bind>)`` (``sqlalchemy.sql.visitors.replacement_traverse``), so one
statement, prepared once per connection, serves every list length. Without it (SQLite) a
statement has one plan per length of its ``IN`` lists, which callers pad to powers of two.

INSERT and UPDATE statements are compiled with ``column_keys`` (the parameter names) and, for
an executemany, ``for_executemany``, as SQLAlchemy compiles them for an execution:
``table.insert()`` then renders only the columns given (the others take their server
defaults) and no ``RETURNING`` of the new ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.visitors import ExternallyTraversible, replacement_traverse
from sqlalchemy.types import ARRAY

Args = Callable[[Mapping[str, Any]], "tuple[Any, ...] | list[Any]"]


@dataclass(frozen=True, slots=True)
class _Slot:
    """Stands for the caller's value ``key`` (its element ``index`` for an expanded list)."""

    key: str
    index: int | None = None


@dataclass(slots=True)
class Plan:
    """Driver SQL and the function turning the caller's mapping into its arguments."""

    sql: str
    args: Args
    row_type: Any = None  # set by the executor from the first result


@dataclass(slots=True)
class _Entry:
    statement: Executable  # held so that its id() stays its own
    compiled: SQLCompiler
    expanding: tuple[str, ...]  # caller keys whose lists are spread over several positions
    plans: dict[tuple[int, ...], Plan] = field(default_factory=dict)


class Planner:
    """The plans of one dialect, per statement (and per length of its expanding lists)."""

    def __init__(self, dialect: Dialect, *, arrays: bool) -> None:
        self._dialect = dialect
        self._arrays = arrays
        self._entries: dict[Any, _Entry] = {}

    def plan(self, statement: Executable, params: Mapping[str, Any], *, many: bool = False) -> Plan:
        """The plan for ``statement`` run with ``params`` (compiled the first time); ``many``:
        for an executemany, with these as the first row."""
        if getattr(statement, "is_dml", False):  # compiled for the columns given
            key: Any = (id(statement), tuple(params), many)
        else:
            key = id(statement)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = self._compile(statement, params, many)
        sizes = tuple(len(params[k]) for k in entry.expanding)
        plan = entry.plans.get(sizes)
        if plan is None:
            plan = entry.plans[sizes] = _expand(entry, params)
        return plan

    def _compile(self, statement: Executable, params: Mapping[str, Any], many: bool) -> _Entry:
        source = _with_arrays(statement) if self._arrays else statement
        # for_executemany: no implicit ``RETURNING id`` on an INSERT (its rows go nowhere)
        compiled = source.compile(  # type: ignore[attr-defined]
            dialect=self._dialect,
            column_keys=sorted(params) if getattr(statement, "is_dml", False) else None,
            for_executemany=many,
        )
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise TypeError("hot statements need a positional paramstyle")
        expanding = tuple(
            k for k, b in compiled.binds.items() if b.expanding and k in params and k == b.key
        )
        return _Entry(statement, compiled, expanding)


def _expand(entry: _Entry, params: Mapping[str, Any]) -> Plan:
    slots: dict[str, Any] = {}
    for name in params:
        if name in entry.expanding:
            slots[name] = [_Slot(name, i) for i in range(len(params[name]))]
        else:
            slots[name] = _Slot(name)
    state = entry.compiled.construct_expanded_state(slots)
    assert state.positiontup is not None
    takers: list[tuple[_Slot | None, Callable[[Any], Any] | None, Any]] = []
    for name in state.positiontup:
        value = state.parameters[name]
        process = state.processors.get(name)
        if isinstance(value, _Slot):
            takers.append((value, process, None))
        else:  # written in the statement: processed once, here
            takers.append((None, None, process(value) if process else value))
    return Plan(state.statement, _args(takers))


def _args(takers: list[tuple[_Slot | None, Callable[[Any], Any] | None, Any]]) -> Args:
    """The fastest function that lays out the arguments: ``itemgetter`` (in C) when every
    position is a whole caller value with no conversion, else a small loop."""
    if all(s is not None and s.index is None and p is None for s, p, _ in takers):
        keys = [s.key for s, _, _ in takers if s is not None]
        if len(keys) > 1:
            return itemgetter(*keys)
        if keys:
            only = keys[0]
            return lambda p: (p[only],)
        return lambda _p: ()

    def args(p: Mapping[str, Any]) -> list[Any]:
        out: list[Any] = []
        for slot, process, constant in takers:
            if slot is None:
                out.append(constant)
                continue
            value = p[slot.key] if slot.index is None else p[slot.key][slot.index]
            out.append(process(value) if process is not None else value)
        return out

    return args


def _with_arrays(statement: Executable) -> Executable:
    """``column IN (<expanding bind>)`` → ``column = ANY(<array bind>)`` throughout."""

    def replace(element: Any, **_kw: Any) -> Any:
        if not (
            isinstance(element, BinaryExpression)
            and element.operator is operators.in_op
            and isinstance(element.right, BindParameter)
            and element.right.expanding
        ):
            return None
        bind = element.right
        array = ARRAY(bind.type)
        if bind.required:  # the caller's list
            new = bindparam(bind.key, type_=array, required=True)
        else:  # a list written in the statement
            new = bindparam(None, list(bind.value or ()), type_=array)
        swapped = element.left == any_(new)
        return swapped

    assert isinstance(statement, ExternallyTraversible)
    rewritten = replacement_traverse(statement, {}, replace)
    assert isinstance(rewritten, Executable)
    return rewritten
