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
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from goalctl.projects import project_root
from goalctl.reading import LIMITS, ReadError, loads_json, open_regular, read_bytes, too_large
from goalctl.scenario.positions import KeyPath, SourceMap

DATA_SUFFIXES: Final = (".jsonl", ".csv", ".yaml", ".yml")
"""The kinds of data file ``cases: {file: …}`` reads."""
MAX_CASES: Final = 100_000
"""The most cases one data file may hold."""
MAX_YAML_BYTES: Final = 16 * 1024 * 1024
"""YAML data files are parsed whole: they get the scenario reader's kind of limit, not the
streaming one of JSONL and CSV (:data:`goalctl.reading.LIMITS` ``data``)."""
RESERVED_COLUMNS: Final = frozenset({"name", "description", "expected"})
_BOM: Final = "\ufeff"


class DataFileError(Exception):
    """A data file that cannot be read as cases, at a place in it (or in the scenario when
    ``line`` is 0: the ``file`` key itself is wrong)."""

    def __init__(self, message: str, line: int = 0, col: int = 1, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.remedy = remedy


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
    """The data file ``value`` names, ready to be read row by row (see the module's docstring).

    Problems of the ``file`` key (a missing file, a refused path) are raised here; problems of
    the rows are raised while :meth:`DataCases.rows` reads them.
    """
    path = data_file(scenario, value)
    return DataCases(path, str(scenario.parent / value), input_schema)


class DataCases:
    """The rows of one data file as inline case mappings, read once, in order, and where each
    row stands in the file (:meth:`find`)."""

    def __init__(self, path: Path, display: str, input_schema: dict[str, Any] | None) -> None:
        self.path = path
        self.display = display
        """How problems name the file: beside the scenario's own name."""
        self.suffix = path.suffix.lower()
        self.input_schema = input_schema
        self._lines = array("q")
        """The line of each row (CSV: the first line of its record; negative when the record
        spans several lines, whose cells then have no columns)."""
        self._offsets = array("q")
        """The byte offset of each row's (first) line."""
        self._columns: list[tuple[str, str | None]] = []
        self._yaml_map: SourceMap | None = None

    def rows(self) -> Iterator[dict[str, Any]]:
        """Each row as the mapping an inline case would be; :class:`DataFileError` for a
        file or a row that cannot be read as cases (no row after it is read)."""
        if self.suffix == ".jsonl":
            found = self._jsonl()
        elif self.suffix == ".csv":
            found = self._csv()
        else:
            found = self._yaml()
        count = 0
        for count, row in enumerate(found, start=1):
            if count > MAX_CASES:
                raise DataFileError(
                    f"the data file holds more than {MAX_CASES:,} cases; at most "
                    f"{MAX_CASES:,} are read",
                    abs(self._lines[-1]) if self._lines else 1,
                    remedy="split it across several scenarios",
                )
            yield row
        if count == 0:
            raise DataFileError("the data file holds no cases", 1, remedy="add a row per case")

    def find(self, path: KeyPath) -> tuple[int, int]:
        """Line and column of ``path`` (``(row, "input", "total")``) or its nearest ancestor."""
        if self._yaml_map is not None:
            return self._yaml_map.find(path)
        index = path[0] if path else None
        if not isinstance(index, int) or not 0 <= index < len(self._lines):
            return 1, 1
        line = abs(self._lines[index])
        if self.suffix == ".jsonl":
            return line, self._jsonl_col(index, path[1:])
        return line, self._csv_col(index, path[1:])

    # -- reading ---------------------------------------------------------------------------

    def _text_lines(self) -> Iterator[tuple[int, int, str]]:
        """``(line, byte offset, text)`` of each line, decoded as strict UTF-8 without its line
        break, the bytes counted against the data file size limit as they are read."""
        limit = LIMITS["data"]
        offset = 0
        try:
            with open_regular(self.path, "data") as file:
                for number, raw in enumerate(file, start=1):
                    start, offset = offset, offset + len(raw)
                    if offset > limit:
                        raise too_large(self.path, "data", limit, offset)
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        byte = raw[exc.start]
                        raise DataFileError(
                            f"invalid UTF-8 (byte 0x{byte:02x} at offset {start + exc.start})",
                            number,
                            exc.start + 1,
                        ) from None
                    if number == 1:
                        text = text.removeprefix(_BOM)
                    yield number, start, text.removesuffix("\n").removesuffix("\r")
        except ReadError as exc:
            raise DataFileError(exc.detail) from None

    def _line_text(self, index: int) -> str:
        """The (first) line of row ``index``, read again: positions are found only when a
        problem is reported."""
        with open_regular(self.path, "data") as file:
            file.seek(self._offsets[index])
            text = file.readline().decode("utf-8", "replace")
        if self._offsets[index] == 0:
            text = text.removeprefix(_BOM)
        return text.removesuffix("\n").removesuffix("\r")

    def _jsonl(self) -> Iterator[dict[str, Any]]:
        for number, offset, line in self._text_lines():
            if not line.strip():
                continue
            row = _json_row(line, number)
            self._lines.append(number)
            self._offsets.append(offset)
            yield row

    def _jsonl_col(self, index: int, path: KeyPath) -> int:
        line = self._line_text(index)
        indent = len(line) - len(line.lstrip())
        key = path[0] if path else None
        try:
            row = json.loads(line)
        except ValueError:
            return indent + 1
        if not isinstance(key, str) or not isinstance(row, dict) or key not in row:
            return indent + 1
        # JSON keeps no positions: the key's first spelling on its line is close enough.
        at = line.find(json.dumps(key, ensure_ascii=False) + ":")
        if at == -1:
            at = line.find(json.dumps(key))
        return at + 1 if at >= 0 else indent + 1

    def _yaml(self) -> Iterator[dict[str, Any]]:
        from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

        try:
            raw = read_bytes(self.path, "data", MAX_YAML_BYTES)
            text = raw.decode("utf-8").removeprefix(_BOM)
        except ReadError as exc:
            raise DataFileError(exc.detail) from None
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            byte = raw[exc.start]
            message = f"invalid UTF-8 (byte 0x{byte:02x} at offset {exc.start})"
            raise DataFileError(message, line, col) from None
        try:
            document = load_yaml(text.replace("\r\n", "\n"))
        except YamlLoadError as exc:
            raise DataFileError(
                exc.issue.message, exc.issue.line, exc.issue.col, exc.issue.remedy
            ) from None
        self._yaml_map = document.source_map
        if document.data is None:
            return
        if not isinstance(document.data, list):
            raise DataFileError(
                f"expected a list of cases at the top level, got a {type(document.data).__name__}",
                1,
                remedy="write one `- name: ...` item per case",
            )
        for index, row in enumerate(document.data):
            line, col = document.source_map.find((index,))
            if not isinstance(row, dict):
                raise DataFileError(
                    f"case {index + 1} is a {type(row).__name__}, not a mapping",
                    line,
                    col,
                    remedy="give each case `input:` and optionally `name:` and `expected:`",
                )
            self._lines.append(line)
            yield row

    def _csv(self) -> Iterator[dict[str, Any]]:
        consumed = [0]
        offsets: dict[int, int] = {}
        """The byte offset of each line read since the current record began."""

        def feed() -> Iterator[str]:
            for number, offset, text in self._text_lines():
                consumed[0] = number
                offsets[number] = offset
                yield text + "\n"

        reader = csv.reader(feed(), strict=True)
        try:
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                return
            columns = self._columns = [_column(cell) for cell in header]
            _check_header(header, columns)
            properties = _properties(self.input_schema)
            start = consumed[0] + 1
            for record in reader:
                line = start
                start = consumed[0] + 1
                offset = offsets[line]
                offsets.clear()
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if len(record) != len(header):
                    raise DataFileError(
                        f"the row has {len(record)} cells, the header {len(header)}",
                        line,
                        remedy="give every row one cell per column (quote cells that hold commas)",
                    )
                self._lines.append(line if start == line + 1 else -line)
                self._offsets.append(offset)
                yield _csv_row(record, columns, properties)
        except csv.Error as exc:
            raise DataFileError(f"not valid CSV: {exc}", consumed[0]) from None

    def _csv_col(self, index: int, path: KeyPath) -> int:
        if not path or self._lines[index] < 0:
            return 1  # a record over several lines: its cells have no columns
        if path[0] in ("name", "description") or (path[0] == "expected" and len(path) == 1):
            column: tuple[str, str | None] = (str(path[0]), None)
        elif path[0] in ("input", "expected") and len(path) >= 2:
            column = (str(path[0]), str(path[1]))
        else:
            return 1
        if column not in self._columns:
            return 1
        number = self._columns.index(column)
        line = self._line_text(index)
        cells = next(csv.reader([line]), [])
        if number >= len(cells) or cells[number] == "":
            return 1  # an empty cell left its key out: the row is the place
        cols = _cell_columns(line)
        return cols[number] if number < len(cols) else 1


def _json_row(line: str, number: int) -> dict[str, Any]:
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
    return row


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _csv_row(
    record: list[str], columns: list[tuple[str, str | None]], properties: dict[str, Any]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for cell, (section, key) in zip(record, columns, strict=True):
        if cell == "":
            continue
        if section in ("name", "description") or (section == "expected" and key is None):
            row[section] = cell
        else:
            value = cell if section == "expected" else _typed(cell, properties.get(str(key)))
            row.setdefault(section, {})[key] = value
    row.setdefault("input", {})
    return row


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
