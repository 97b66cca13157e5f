"""Hive/Glue column types: inferred from JSON values and widened as the Glue crawler does.

A tiny model (``GlueType``) rendered to the Hive type strings Glue stores; those strings are
parsed with sqlglot's Hive dialect (``parse_hive_type``), here for the crawl's re-crawl merge
and in ``movielake.analysis.translate`` for the local engine's DuckDB types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class GlueType:
    """A column type: a scalar kind, ``array`` of an element, or ``struct`` of named fields.

    ``null`` is the type of a value that was only ever seen as null; it never decides a type
    and renders as ``string`` if nothing else was seen.
    """

    kind: str
    element: GlueType | None = None
    fields: tuple[tuple[str, GlueType], ...] = ()


NULL = GlueType("null")
INT = GlueType("int")
BIGINT = GlueType("bigint")
DOUBLE = GlueType("double")
STRING = GlueType("string")
BOOLEAN = GlueType("boolean")
_NUMERIC_RANK = {"int": 0, "bigint": 1, "double": 2}


def infer_json_type(value: Any) -> GlueType:
    """The Glue type of one decoded JSON value (field names of structs lower-cased)."""
    if value is None:
        return NULL
    if isinstance(value, bool):  # before int: bool is an int in Python
        return BOOLEAN
    if isinstance(value, int):
        return INT if INT32_MIN <= value <= INT32_MAX else BIGINT
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        element = NULL
        for item in value:
            element = merge_types(element, infer_json_type(item))
        return GlueType("array", element=element)
    if isinstance(value, dict):
        return _struct_of(value.items())
    return STRING


def _struct_of(items: Iterable[tuple[str, Any]]) -> GlueType:
    """A struct type from key/value pairs; keys that differ only in case are merged."""
    merged: dict[str, GlueType] = {}
    for key, item in items:
        name = str(key).lower()
        merged[name] = merge_types(merged.get(name, NULL), infer_json_type(item))
    return GlueType("struct", fields=tuple(merged.items()))


def merge_types(a: GlueType, b: GlueType) -> GlueType:
    """The narrowest type both ``a`` and ``b`` fit in: int < bigint < double; else string.

    Structs merge field by field (union, first-seen order), arrays by element; a null side
    yields the other; anything incompatible (a number and a string, a struct and a scalar)
    becomes ``string``, which every value can be read as.
    """
    if a.kind == "null":
        return b
    if b.kind == "null" or a == b:
        return a
    if a.kind in _NUMERIC_RANK and b.kind in _NUMERIC_RANK:
        return a if _NUMERIC_RANK[a.kind] >= _NUMERIC_RANK[b.kind] else b
    if a.kind == b.kind == "array":
        return GlueType("array", element=merge_types(a.element or NULL, b.element or NULL))
    if a.kind == b.kind == "struct":
        fields = dict(a.fields)
        for name, kind in b.fields:
            fields[name] = merge_types(fields.get(name, NULL), kind)
        return GlueType("struct", fields=tuple(fields.items()))
    return STRING


def render_type(t: GlueType) -> str:
    """The Hive type string Glue stores: ``array<struct<id:int,name:string>>``."""
    if t.kind == "null":
        return "string"
    if t.kind == "array":
        return f"array<{render_type(t.element or NULL)}>"
    if t.kind == "struct":
        if not t.fields:
            return "string"  # an always-empty object: Hive has no empty struct
        return "struct<" + ",".join(f"{n}:{render_type(k)}" for n, k in t.fields) + ">"
    return t.kind


class GlueTypeError(ValueError):
    """A Glue column type that cannot be read; the message quotes it and says what is wrong."""


_ARITY = {exp.DataType.Type.ARRAY: 1, exp.DataType.Type.MAP: 2}


def parse_hive_type(text: str) -> exp.DataType:
    """A Glue column type (Hive syntax, ``array<struct<id:int>>``) as sqlglot's type tree.

    Parsed by sqlglot's Hive dialect; what that parser lets through but Hive refuses (an
    unclosed ``<``, a struct field without ``name:``, a map of one type) is refused here too.
    """
    if text.count("<") != text.count(">"):
        raise GlueTypeError(f"unbalanced '<' and '>' in Glue type {text!r}")
    try:
        parsed = exp.DataType.build(text, dialect="hive")
    except (sqlglot.errors.ParseError, ValueError) as exc:
        raise GlueTypeError(f"cannot read Glue type {text!r}") from exc
    fields = 0
    for node in parsed.find_all(exp.DataType):
        arity = _ARITY.get(node.this)
        if arity is not None and len(node.expressions) != arity:
            raise GlueTypeError(f"{node.this.value.lower()} takes {arity} type(s), in Glue type {text!r}")
        if node.this == exp.DataType.Type.STRUCT:
            fields += len(node.expressions)
    if fields != text.count(":"):
        raise GlueTypeError(f"every struct field is written name:type, in Glue type {text!r}")
    return parsed


def parse_type(text: str) -> GlueType:
    """Parse a Hive type string back into a ``GlueType`` (for merging with a catalog table)."""
    return _glue_type(parse_hive_type(text))


def _glue_type(node: exp.DataType) -> GlueType:
    if node.this == exp.DataType.Type.ARRAY:
        return GlueType("array", element=_glue_type(node.expressions[0]))
    if node.this == exp.DataType.Type.STRUCT:
        fields = ((field.name.lower(), _glue_type(field.args["kind"])) for field in node.expressions)
        return GlueType("struct", fields=tuple(fields))
    name = node.sql("hive").lower().replace(" ", "")
    return GlueType({"float": "double"}.get(name, name))


class SchemaBuilder:
    """Accumulates column types over sampled records; columns keep first-seen order."""

    def __init__(self) -> None:
        self.columns: dict[str, GlueType] = {}
        self.source_keys: dict[str, str] = {}  # lower-cased column -> key as written
        self.records = 0

    def add_json(self, record: Mapping[str, Any]) -> None:
        """Fold one JSON object into the schema."""
        self.records += 1
        for key, value in record.items():
            name = str(key).lower()
            self.source_keys.setdefault(name, str(key))
            self.columns[name] = merge_types(self.columns.get(name, NULL), infer_json_type(value))

    def rendered(self) -> list[tuple[str, str]]:
        """The columns as (name, Hive type string)."""
        return [(name, render_type(kind)) for name, kind in self.columns.items()]


def merge_columns(
    existing: Sequence[tuple[str, str]], inferred: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Widen-only merge for a re-crawl: keep every existing column, widen types, append new ones.

    Old partitions stay readable: no column disappears and no type narrows.
    """
    merged: dict[str, GlueType] = {}
    for name, text in (*existing, *inferred):
        try:
            kind = parse_type(text)
        except ValueError:
            kind = STRING
        merged[name] = merge_types(merged.get(name, NULL), kind)
    return [(name, render_type(kind)) for name, kind in merged.items()]
