"""Cases from a data file: ``cases: {file: cases.jsonl}`` (also ``.csv``, ``.yaml``/``.yml``).

The file is named relative to the scenario and must stay inside its project (like
``workspace:``); it is read through the one bounded reader (:mod:`goalctl.reading`, kind
``data``). Rows become the same mappings an inline ``cases:`` list holds, with a
:class:`SourceMap` of the data file, so every problem of a row — an unknown key, an input that
does not match ``input_schema`` — is reported at the data file's line (and column where the
format gives one), e.g. ``data.csv:7:12: cases[5].input.total: ...``.

Row shapes:

- JSONL: one JSON object per line, with the keys of an inline case (``name``, ``input``,
  ``expected``, ...); blank lines are skipped.
- YAML: a list of such mappings.
- CSV: a header row, then one case per row. ``name`` and ``description`` columns are the
  case's; an ``expected`` column is its expected value, ``expected.KEY`` columns build an
  expected mapping; every other column is an input key (``input.KEY`` may spell it out). CSV
  cells are text: a cell becomes a number, boolean, array or object only where
  ``input_schema`` declares that type for its key (never by guessing: ``007`` for a string
  stays ``"007"``); a cell that does not parse stays text, and the schema check reports it. An
  empty cell leaves its key out, so ``required`` reports a missing value.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from goalctl.projects import project_root
from goalctl.reading import ReadError, decode, loads_json, read_bytes
from goalctl.scenario.positions import Position, SourceMap

DATA_SUFFIXES: Final = (".jsonl", ".csv", ".yaml", ".yml")
"""The kinds of data file ``cases: {file: …}`` reads."""
MAX_CASES: Final = 100_000
"""The most cases one data file may hold."""
RESERVED_COLUMNS: Final = frozenset({"name", "description", "expected"})


class DataFileError(Exception):
    """A data file that cannot be read as cases, at a place in it (or in the scenario when
    ``line`` is 0: the ``file`` key itself is wrong)."""

    def __init__(self, message: str, line: int = 0, col: int = 1, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.remedy = remedy


@dataclass
class DataCases:
    """The rows of a data file as inline case mappings, and where each value stands in it."""

    path: Path
    display: str
    """How problems name the file: beside the scenario's own name."""
    rows: list[Any]
    source_map: SourceMap

    def find(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        """Line and column of ``path`` (``(row, "input", "total")``) or its nearest ancestor."""
        return self.source_map.find(path)


def data_file(scenario: Path, value: str) -> Path:
    """The data file ``value`` names, relative to the scenario and inside its project."""
    if not value.strip():
        raise DataFileError("file is empty", remedy="name a data file beside the scenario")
    suffix = Path(value).suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise DataFileError(
            f"{value!r} is not a data file goalctl reads",
            remedy="use .jsonl, .csv, .yaml or .yml",
        )
    if Path(value).is_absolute():
        raise DataFileError(
            f"{value!r} is an absolute path", remedy="name the file relative to the scenario"
        )
    source = Path(os.path.realpath(scenario.parent / value))
    root = project_root(scenario)
    if not source.is_relative_to(root):
        raise DataFileError(
            f"{value!r} is outside the scenario's project ({root})",
            remedy="keep the data file inside the project",
        )
    if not source.exists():
        raise DataFileError(
            f"{value!r}: no such file beside the scenario",
            remedy="name the data file relative to the scenario's folder",
        )
    return source


def read_data_cases(
    scenario: Path, value: str, input_schema: dict[str, Any] | None = None
) -> DataCases:
    """Read the cases of the data file ``value`` names (see the module's docstring)."""
    path = data_file(scenario, value)
    display = str(scenario.parent / value)
    try:
        raw = read_bytes(path, "data")
        text = decode(raw, display)
    except ReadError as exc:
        line = exc.line if exc.offset is not None else 0
        raise DataFileError(exc.detail, line, exc.col) from None
    text = text.replace("\r\n", "\n")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows, source_map = _jsonl(text)
    elif suffix == ".csv":
        rows, source_map = _csv(text, input_schema)
    else:
        rows, source_map = _yaml(text)
    if not rows:
        raise DataFileError("the data file holds no cases", 1, remedy="add a row per case")
    if len(rows) > MAX_CASES:
        raise DataFileError(
            f"the data file holds {len(rows):,} cases; at most {MAX_CASES:,} are read",
            remedy="split it across several scenarios",
        )
    return DataCases(path, display, rows, source_map)


def _jsonl(text: str) -> tuple[list[Any], SourceMap]:
    rows: list[Any] = []
    source_map = SourceMap()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = loads_json(line, "a JSONL line")
        except ReadError as exc:
            detail = re.sub(r" at line \d+, column \d+$", "", exc.detail)
            raise DataFileError(f"not valid JSON: {detail}", number, exc.col) from None
        if not isinstance(row, dict):
            raise DataFileError(
                f"a line holds a JSON {_json_kind(row)}, not an object",
                number,
                remedy='write one case per line: {"name": ..., "input": {...}}',
            )
        index = len(rows)
        rows.append(row)
        indent = len(line) - len(line.lstrip())
        source_map.add((index,), Position(number, indent + 1, number, indent + 1))
        for key in row:
            # JSON keeps no positions: the key's first spelling on its line is close enough.
            at = line.find(json.dumps(key, ensure_ascii=False) + ":")
            if at == -1:
                at = line.find(json.dumps(key))
            col = at + 1 if at >= 0 else indent + 1
            source_map.add((index, key), Position(number, col, number, col))
    return rows, source_map


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _yaml(text: str) -> tuple[list[Any], SourceMap]:
    from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

    try:
        document = load_yaml(text)
    except YamlLoadError as exc:
        raise DataFileError(
            exc.issue.message, exc.issue.line, exc.issue.col, exc.issue.remedy
        ) from None
    if document.data is None:
        return [], document.source_map
    if not isinstance(document.data, list):
        raise DataFileError(
            f"expected a list of cases at the top level, got a {type(document.data).__name__}",
            1,
            remedy="write one `- name: ...` item per case",
        )
    for index, row in enumerate(document.data):
        if not isinstance(row, dict):
            line, col = document.source_map.find((index,))
            raise DataFileError(
                f"case {index + 1} is a {type(row).__name__}, not a mapping",
                line,
                col,
                remedy="give each case `input:` and optionally `name:` and `expected:`",
            )
    return document.data, document.source_map


def _csv(text: str, input_schema: dict[str, Any] | None) -> tuple[list[Any], SourceMap]:
    lines = text.splitlines(keepends=True)
    consumed = [0]

    def feed() -> Iterator[str]:
        for line in lines:
            consumed[0] += 1
            yield line

    reader = csv.reader(feed(), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            return [], SourceMap()
        columns = [_column(cell) for cell in header]
        _check_header(header, columns)
        properties = _properties(input_schema)
        rows: list[Any] = []
        source_map = SourceMap()
        start = consumed[0] + 1
        for record in reader:
            line = start
            start = consumed[0] + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != len(header):
                raise DataFileError(
                    f"the row has {len(record)} cells, the header {len(header)}",
                    line,
                    remedy="give every row one cell per column (quote cells that hold commas)",
                )
            cols = _cell_columns(lines[line - 1]) if start == line + 1 else []
            index = len(rows)
            row: dict[str, Any] = {}
            source_map.add((index,), Position(line, 1, line, 1))
            for number, (cell, (section, key)) in enumerate(zip(record, columns, strict=True)):
                if cell == "":
                    continue
                col = cols[number] if number < len(cols) else 1
                at = Position(line, col, line, col)
                if section in ("name", "description"):
                    row[section] = cell
                    source_map.add((index, section), at)
                elif section == "expected" and key is None:
                    row["expected"] = cell
                    source_map.add((index, "expected"), at)
                else:
                    column = str(key)
                    value = cell if section == "expected" else _typed(cell, properties.get(column))
                    row.setdefault(section, {})[key] = value
                    source_map.add((index, section, str(key)), at)
            row.setdefault("input", {})
            rows.append(row)
    except csv.Error as exc:
        raise DataFileError(f"not valid CSV: {exc}", consumed[0]) from None
    return rows, source_map


def _column(cell: str) -> tuple[str, str | None]:
    """(section, key) of a header cell: ``name``, ``expected``/``expected.KEY``, else an
    input key (``input.KEY`` or ``KEY``)."""
    name = cell.strip()
    if name in RESERVED_COLUMNS:
        return name, None
    section, dot, key = name.partition(".")
    if dot and section in ("expected", "input") and key:
        return section, key
    return "input", name


def _check_header(header: list[str], columns: list[tuple[str, str | None]]) -> None:
    seen: dict[tuple[str, str | None], int] = {}
    cols = _cell_columns(",".join(_quoted(cell) for cell in header))
    for number, (cell, column) in enumerate(zip(header, columns, strict=True)):
        col = cols[number] if number < len(cols) else 1
        if not cell.strip():
            raise DataFileError(
                f"column {number + 1} has no name", 1, col, remedy="name every column"
            )
        if column in seen:
            raise DataFileError(
                f"column {cell.strip()!r} is given twice (also column {seen[column] + 1})",
                1,
                col,
                remedy="keep one of them",
            )
        if column[0] == "expected" and column[1] is not None and ("expected", None) in seen:
            raise DataFileError(
                f"column {cell.strip()!r} and an `expected` column both give the expected value",
                1,
                col,
                remedy="use `expected` alone, or `expected.KEY` columns",
            )
        seen[column] = number


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"') else cell


def _cell_columns(line: str) -> list[int]:
    """1-based columns where each cell of a one-line CSV record starts."""
    starts = [1]
    quoted = False
    for offset, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            starts.append(offset + 2)
    return starts


def _properties(schema: dict[str, Any] | None) -> dict[str, Any]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


def _typed(cell: str, schema: Any) -> Any:
    """A CSV cell as the type ``input_schema`` declares for its key; text when it declares
    none (or the cell does not parse: the schema check then says what is wrong)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "string" in kinds or not kinds - {None}:
        return cell
    text = cell.strip()
    if kinds & {"integer", "number"}:
        try:
            return int(text)
        except ValueError:
            pass
        if "number" in kinds:
            try:
                number = float(text)
            except ValueError:
                return cell
            return number if number == number and abs(number) != float("inf") else cell
        return cell
    if "boolean" in kinds and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "null" in kinds and text.lower() == "null":
        return None
    if kinds & {"array", "object"}:
        try:
            value = loads_json(text, "a CSV cell")
        except ReadError:
            return cell
        return value
    return cell
