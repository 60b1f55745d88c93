"""``text/csv`` request bodies: rows made into the very JSON body the route validates.

A CSV is a header row and one row per value, in long format as Nixtla's frames are
(``unique_id, ds, y``): a value column, optionally a time column and an id column. The rest of
the request (model, horizon, ...) comes as query parameters named as the JSON body's fields.
:func:`json_body` turns both into the JSON body, so the route's one request model validates it:
every limit, check and error message is the JSON path's. Only what the JSON path cannot see is
checked here, by line (the header is line 1): a column that is not there, a blank or
non-numeric value, a missing id.

The shape of the answer follows the rows: with an id column, or a time column, they are the
many-series form (one series per id, in the order the ids first appear; without ids, one series
named after the value column), since that is the form that carries ids and stamps; a plain
column of values is the one-series form.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import InvalidRequest

MEDIA_TYPE = "text/csv"
VALUE, TIME, ID = "value_column", "time_column", "id_column"
DEFAULT_NAMES = {VALUE: "y", TIME: "ds", ID: "unique_id"}  # Nixtla's long format
COLUMN_DOCS = {
    VALUE: "the column of values; default y, or the only column not taken by time and id",
    TIME: "the column of time stamps (ISO 8601), if any; default ds when there is one",
    ID: "the column of series ids, if any (long format); default unique_id when there is one",
}
EXAMPLE = "unique_id,ds,y\nA,2024-01-01,1.5\nA,2024-01-02,2.5\n"


@dataclass
class Series:
    """The rows of one id, in the order of the CSV."""

    id: str | None
    values: list[float] = field(default_factory=list)
    stamps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Columns:
    """Where the values, stamps and ids are: the header's positions (None: no such column)."""

    header: list[str]
    value: int
    time: int | None
    id: int | None

    @property
    def value_name(self) -> str:
        return self.header[self.value]


@dataclass(frozen=True)
class CsvForm:
    """What a CSV body can say for one route, and how its rows fill the JSON body.

    ``columns``: the column parameters it takes; ``carried``: the body fields the rows fill,
    which are therefore not query parameters; ``fill``: the rows as those fields.
    """

    columns: tuple[str, ...]
    carried: frozenset[str]
    fill: Callable[[list[Series], Columns], dict[str, Any]]

    def parameters(self, model_schema: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The query parameters of a CSV body, as OpenAPI parameters (schemas from the model's)."""
        fields = [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"with a {MEDIA_TYPE} body: "
                + (prop.get("description") or f"the body's {name}"),
                "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
            }
            for name, prop in model_schema["properties"].items()
            if name not in self.carried
        ]
        columns = [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"with a {MEDIA_TYPE} body: {COLUMN_DOCS[name]}",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
            for name in self.columns
        ]
        return fields + columns


def _forecast_fill(series: list[Series], columns: Columns) -> dict[str, Any]:
    if columns.id is None and columns.time is None:
        return {"series": series[0].values}
    return {
        "series": [
            {
                "id": s.id if s.id is not None else columns.value_name,
                "values": s.values,
                **({"timestamps": s.stamps} if columns.time is not None else {}),
            }
            for s in series
        ]
    }


def _backtest_fill(series: list[Series], columns: Columns) -> dict[str, Any]:
    if len(series) > 1:
        ids = [s.id for s in series]
        raise InvalidRequest(
            f"a backtest takes one series, but the CSV holds {len(ids)} ids: send one id's rows",
            {"ids": ids[:10], "count": len(ids)},
        )
    return {"series": series[0].values}


FORECAST = CsvForm((VALUE, TIME, ID), frozenset({"series", "actuals"}), _forecast_fill)
BACKTEST = CsvForm((VALUE, ID), frozenset({"series"}), _backtest_fill)


def is_csv(content_type: str | None) -> bool:
    """Whether a Content-Type header says ``text/csv`` (with or without parameters)."""
    return (content_type or "").split(";")[0].strip().lower() == MEDIA_TYPE


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"


def _text(body: bytes, content_type: str) -> str:
    charset = _charset(content_type)
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        raise InvalidRequest(f"unknown charset {charset!r}: send UTF-8") from None
    try:
        return body.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as e:
        raise InvalidRequest(f"the CSV is not {charset} text (byte {e.start})") from None


def _find(header: list[str], parameter: str, named: str | None) -> int | None:
    """The column ``named`` (an error if absent), else the default name's if present."""
    if named is not None:
        if named not in header:
            raise InvalidRequest(
                f"{parameter}: no column {named!r}; the columns are {', '.join(header)}",
                {"column": named, "columns": header},
            )
        return header.index(named)
    default = DEFAULT_NAMES[parameter]
    return header.index(default) if default in header else None


def _columns(header: list[str], form: CsvForm, named: Mapping[str, str | None]) -> Columns:
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise InvalidRequest(f"the header names a column twice: {', '.join(twice)}")
    time = _find(header, TIME, named.get(TIME)) if TIME in form.columns else None
    ident = _find(header, ID, named.get(ID)) if ID in form.columns else None
    value = _find(header, VALUE, named.get(VALUE))
    if value is None:
        rest = [i for i in range(len(header)) if i not in (time, ident)]
        if len(rest) != 1:
            raise InvalidRequest(
                f"which column holds the values? name it with {VALUE}; the columns are"
                f" {', '.join(header)}",
                {"columns": header},
            )
        value = rest[0]
    if value in (time, ident):
        raise InvalidRequest(f"column {header[value]!r} cannot be both the values and more")
    return Columns(header, value, time, ident)


def _number(cell: str, line: int, column: str) -> float:
    text = cell.strip()
    where = {"line": line, "column": column}
    if not text:
        raise InvalidRequest(
            f"line {line}: no value in column {column!r}; missing values are not filled in:"
            " fill or drop the row",
            where,
        )
    try:
        number = float(text)
    except ValueError:
        raise InvalidRequest(
            f"line {line}: {text[:40]!r} in column {column!r} is not a number", where
        ) from None
    if not math.isfinite(number):
        raise InvalidRequest(
            f"line {line}: {text!r} in column {column!r} is not a finite number", where
        )
    return number


def _series(rows: Iterable[tuple[int, list[str]]], columns: Columns) -> list[Series]:
    """The rows grouped by id, ids in the order they first appear."""
    by_id: dict[str | None, Series] = {}
    width = len(columns.header)
    for line, row in rows:
        if width > 1 and _blank(row):
            raise InvalidRequest(f"line {line} is blank: every row needs a value", {"line": line})
        if len(row) != width:
            raise InvalidRequest(
                f"line {line} has {len(row)} fields but the header has {width}",
                {"line": line},
            )
        ident = None
        if columns.id is not None:
            ident = row[columns.id].strip()
            if not ident:
                raise InvalidRequest(
                    f"line {line}: no id in column {columns.header[columns.id]!r}",
                    {"line": line, "column": columns.header[columns.id]},
                )
        series = by_id.setdefault(ident, Series(ident))
        series.values.append(_number(row[columns.value], line, columns.value_name))
        if columns.time is not None:
            series.stamps.append(row[columns.time].strip())
    return list(by_id.values())


def _blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the rows after it with their line numbers, blank lines at the ends left out.

    A blank line between rows is a row: in a one-column CSV it is a missing value (what pandas
    writes for NaN), so it is refused as one.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = [(reader.line_num, row) for row in reader]
    except csv.Error as e:
        raise InvalidRequest(f"line {reader.line_num}: not CSV ({e})") from None
    while lines and _blank(lines[-1][1]):
        lines.pop()
    while lines and _blank(lines[0][1]):
        lines.pop(0)
    if not lines:
        raise InvalidRequest(
            "the CSV is empty: send a header row, then one row per value", {"rows": 0}
        )
    (_, header), *rows = lines
    if not rows:
        raise InvalidRequest(
            f"the CSV has a header ({', '.join(header)}) but no rows of values", {"rows": 0}
        )
    return [h.strip() for h in header], [(n, row or [""]) for n, row in rows]


def _scalar(text: str, types: set[str]) -> Any:
    """A query value as the JSON value its schema types expect; as text when it is none."""
    if "integer" in types and text.strip().lstrip("+-").isdigit():
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    return text


def _types(schema: Mapping[str, Any]) -> set[str]:
    kinds = schema.get("type")
    found = {kinds} if isinstance(kinds, str) else set(kinds or ())
    for option in schema.get("anyOf", ()):
        found |= _types(option)
    return found


def _items(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    if "items" in schema:
        return schema["items"]
    return next((o["items"] for o in schema.get("anyOf", ()) if "items" in o), {})


def query_fields(
    parameters: list[dict[str, Any]], query: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """The body fields the query gives, typed as their schemas say (lists: repeated or a,b)."""
    schemas = {p["name"]: p["schema"] for p in parameters}
    given: dict[str, list[str]] = {}
    for key, value in query:
        if key in schemas:
            given.setdefault(key, []).append(value)
    fields: dict[str, Any] = {}
    for name, values in given.items():
        schema = schemas[name]
        if "array" in _types(schema):
            kinds = _types(_items(schema))
            fields[name] = [_scalar(v, kinds) for text in values for v in text.split(",")]
        else:
            fields[name] = _scalar(values[-1], _types(schema))
    return fields


def json_body(
    form: CsvForm,
    parameters: list[dict[str, Any]],
    body: bytes,
    content_type: str,
    query: Iterable[tuple[str, str]],
) -> dict[str, Any]:
    """The JSON body a CSV body and its query parameters mean."""
    fields = query_fields(parameters, query)
    named = {name: fields.pop(name, None) for name in form.columns}
    header, rows = _rows(_text(body, content_type))
    columns = _columns(header, form, named)
    return {**fields, **form.fill(_series(rows, columns), columns)}
