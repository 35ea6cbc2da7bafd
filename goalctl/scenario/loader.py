"""Read a scenario file into a :class:`Scenario`, or into every problem it has.

Reading never stops at the first problem: syntax, model, config, schema, template and
expression problems of a file are all collected, each at its ``file:line:col``.
"""

from __future__ import annotations

import contextlib
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from goalctl.errors import Problem, ScenarioError
from goalctl.reading import ReadError, decode, read_bytes
from goalctl.scenario.files import MARKDOWN_SUFFIXES as MARKDOWN_SUFFIXES
from goalctl.scenario.files import SCENARIO_SUFFIXES as SCENARIO_SUFFIXES
from goalctl.scenario.files import YAML_SUFFIXES as YAML_SUFFIXES
from goalctl.scenario.markdown import parse_markdown
from goalctl.scenario.model import Case, Scenario, ScenarioSpec, TemplateText
from goalctl.scenario.model_errors import (
    clean_loc,
    describe,
    known_fields,
    missing_remedy,
    value_at,
    without_union_noise,
)
from goalctl.scenario.positions import KeyPath, Position, SourceMap, format_key
from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

if TYPE_CHECKING:
    from goalctl.scenario.case_table import CaseTable
    from goalctl.scenario.datafile import DataCases


@dataclass
class LoadResult:
    """A scenario (when it could be built) and the problems of its file."""

    path: Path
    scenario: Scenario | None = None
    problems: list[Problem] = field(default_factory=list)
    ref: GoalRef | None = None
    """What other files need to know of this one (lineage); set whenever a goal was read."""
    data_file: Path | None = None
    """The data file its ``cases: {file: …}`` names (resolved), so that scanning a folder does
    not read it as a scenario of its own."""

    @property
    def ok(self) -> bool:
        return self.ref is not None and not any(p.severity == "error" for p in self.problems)

    def light(self) -> LoadResult:
        """The result without the scenario itself: small and picklable, for worker processes."""
        return LoadResult(self.path, None, self.problems, self.ref, self.data_file)


@dataclass(frozen=True, slots=True)
class GoalRef:
    """A goal's identity and lineage, with the lines that define them."""

    id: str
    name: str
    version: str
    parent_version: str | None
    version_at: tuple[int, int]
    parent_at: tuple[int, int]

    @classmethod
    def of(cls, scenario: Scenario) -> GoalRef:
        goal = scenario.goal
        return cls(
            goal.id,
            goal.name,
            goal.version,
            goal.parent_version,
            scenario.source_map.find(("version",)),
            scenario.source_map.find(("parent_version",)),
        )


def load_scenario(path: str | Path) -> Scenario:
    """Load and check one scenario file; :class:`ScenarioError` lists every problem."""
    result = read_scenario(Path(path))
    if not result.ok or result.scenario is None:
        raise ScenarioError(result.problems)
    return result.scenario


def read_scenario(path: Path, text: str | None = None) -> LoadResult:
    """Read, parse and check ``path`` (or ``text`` as if it were that file)."""
    reader = _Reader(path)
    try:
        with contextlib.suppress(_Abort):
            reader.run(text)
    except RecursionError:
        # marko parses nested lists and quotes recursively: a few hundred levels are enough.
        reader.problems.append(
            Problem(
                str(path),
                1,
                1,
                "the file nests lists or quotes too deeply to be read",
                remedy="flatten the nested lists or quotes",
            )
        )
        reader.scenario = None
    # The scenario's own problems first, then those of its data file.
    reader.problems.sort(
        key=lambda problem: (problem.path != reader.display, *_reading_order(problem))
    )
    ref = GoalRef.of(reader.scenario) if reader.scenario is not None else None
    return LoadResult(path, reader.scenario, reader.problems, ref, reader.data_path)


def _reading_order(problem: Problem) -> tuple[int, int]:
    """Problems are listed as the file is read, top to bottom (a stable sort keeps the order of
    problems at one place)."""
    return problem.line, problem.col


class _Abort(Exception):
    """Stops reading a file whose remaining checks depend on what just failed."""


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.display = str(path)
        self.problems: list[Problem] = []
        self.source_map = SourceMap()
        self.scenario: Scenario | None = None
        self.template_lines: dict[str, Position] = {}
        self.case_data: DataCases | None = None
        self.cases_unread = False
        self.data_path: Path | None = None
        """``cases: {file: …}`` named a data file that could not be read as cases."""
        """The data file of ``cases: {file: …}``: problems of its rows are reported in it."""

    # -- reporting ------------------------------------------------------------------------

    def problem(
        self,
        line: int,
        col: int,
        message: str,
        key: str = "",
        remedy: str = "",
        severity: str = "error",
    ) -> None:
        self.problems.append(Problem(self.display, line, col, message, key, remedy, severity))

    def at(self, path: KeyPath, message: str, remedy: str = "", *, key: bool = False) -> None:
        display, line, col = self.locate(path, key=key)
        self.problems.append(Problem(display, line, col, message, format_key(path), remedy))

    def locate(self, path: KeyPath, *, key: bool = False) -> tuple[str, int, int]:
        """The file, line and column that define ``path``: a case read from a data file is
        located in that file."""
        data = self.case_data
        if data is not None and len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
            line, col = data.find(tuple(path[1:]))
            return data.display, line, col
        line, col = self.source_map.find(path, key=key)
        return self.display, line, col

    # -- stages ---------------------------------------------------------------------------

    def run(self, text: str | None) -> None:
        if text is None:
            text = self.read_text()
        # Windows line endings: marko's spans and the front-matter fence assume "\n".
        text = text.replace("\r\n", "\n")
        suffix = self.path.suffix.lower()
        if suffix in MARKDOWN_SUFFIXES:
            data = self.markdown(text)
        elif suffix in YAML_SUFFIXES:
            data = self.yaml(text, first_line=1)
        else:
            self.problem(
                1, 1, f"not a scenario file: {self.path.name}", remedy="use .md, .yaml or .yml"
            )
            raise _Abort
        spec = self.model(data)
        if self.cases_unread:
            raise _Abort  # the checks of cases and templates need the cases
        from goalctl.scenario.checks import check_scenario

        templates = self.templates({name: getattr(spec, name) for name in TEMPLATE_NAMES})
        config = check_scenario(self, spec, templates)
        self.scenario = Scenario(
            path=self.path,
            spec=spec,
            goal=spec.goal(),
            config=config,
            templates=templates,
            source_map=self.source_map,
        )

    def read_text(self) -> str:
        raw = self._read_bytes()
        if b"\0" in raw:
            self.problem(
                1, 1, "not a text file (it contains NUL bytes)", remedy="scenarios are UTF-8 text"
            )
            raise _Abort
        try:
            text = decode(raw, str(self.path))
        except ReadError as exc:
            byte = raw[exc.offset or 0]
            self.problem(
                exc.line,
                exc.col,
                f"invalid UTF-8 (byte 0x{byte:02x})",
                remedy="save the file as UTF-8",
            )
            raise _Abort from None
        # Windows line endings: same lines and columns, and one kind of line break for the
        # Markdown parser and for templates.
        text = text.replace("\r\n", "\n")
        if not text.strip():
            self.problem(1, 1, "file is empty", remedy="start from `goalctl init NAME`")
            raise _Abort
        return text

    def _read_bytes(self) -> bytes:
        """The file's bytes, through the one bounded reader: anything but a regular file
        within the size limit for scenarios is a problem of the file."""
        try:
            return read_bytes(self.path, "scenario")
        except ReadError as exc:
            remedies = {
                "not regular": "scenarios are text files",
                "too large": "split it into several scenarios",
            }
            fix = remedies.get(exc.cause, "")
            self.problem(1, 1, exc.detail, remedy=fix)
            raise _Abort from None

    def yaml(self, text: str, first_line: int) -> dict[str, Any]:
        try:
            document = load_yaml(text, first_line=first_line)
        except YamlLoadError as exc:
            issue = exc.issue
            self.problem(issue.line, issue.col, issue.message, issue.key, issue.remedy)
            raise _Abort from None
        self.source_map.merge(document.source_map)
        data = document.data
        if data is None:
            return {}
        if not isinstance(data, dict):
            kind = type(data).__name__
            self.problem(
                first_line, 1, f"expected a mapping of fields at the top level, got a {kind}"
            )
            raise _Abort
        return data

    def markdown(self, text: str) -> dict[str, Any]:
        parts = parse_markdown(text)
        for line, col, message, remedy in parts.issues:
            self.problem(line, col, message, remedy=remedy)
        data: dict[str, Any] = {}
        if parts.front_matter is not None and not parts.issues:
            data = self.yaml(parts.front_matter, first_line=parts.front_matter_line)
        elif parts.front_matter is None:
            self.problem(
                1,
                1,
                "no YAML front matter",
                remedy="start the file with a '---' line, the fields (at least `id:`), and '---'",
            )
        self.source_map.merge(parts.source_map)
        front_keys = set(data)
        for path, defined in parts.body.items():
            top = path[0]
            if top in front_keys:
                front = self.source_map.find((top,), key=True)[0]
                if top == "name" and data[top] == defined.value:
                    continue
                self.problem(
                    defined.position.line,
                    defined.position.col,
                    f"{top} is defined twice: in the front matter (line {front}) "
                    f"and in {defined.where}",
                    top,
                    "keep one of them",
                )
                continue
            if len(path) == 2:
                data.setdefault(str(top), {})[path[1]] = defined.value
            else:
                data[str(top)] = defined.value
            self.source_map.add(path, defined.position)
            if top in ("system", "prompt", "judge"):
                self.template_lines[str(top)] = defined.position
        if self.problems:
            raise _Abort
        return data

    def model(self, data: dict[str, Any]) -> ScenarioSpec:
        from goalctl.scenario.criteria import refuse_runtime_fields

        table: CaseTable | None = None
        rows = _DataRows()
        if isinstance(data.get("cases"), dict):
            data, table = self.data_cases(data, rows)
        refused = refuse_runtime_fields(self, data)
        spec: ScenarioSpec | None = None
        try:
            spec = ScenarioSpec.model_validate(data)
        except ValidationError as exc:
            for error in without_union_noise(exc.errors(include_url=False), data):
                self.validation_error(error, data)
        if spec is None or rows.failed:
            self.unbuilt(data, rows.names if table is not None else None)
            raise _Abort
        if refused:
            raise _Abort
        if table is not None:
            # Validated row by row as the file was streamed; set past pydantic's assignment
            # validation, which would turn the table back into a list of every case.
            spec.__dict__["cases"] = table
        return spec

    def data_cases(
        self, data: dict[str, Any], rows: _DataRows
    ) -> tuple[dict[str, Any], CaseTable | None]:
        """``data`` with ``cases: {file: …}`` replaced by no cases, and the data file's rows,
        each validated as a case as it is read (None once the file's problem is reported)."""
        from goalctl.scenario.case_table import CaseTable
        from goalctl.scenario.datafile import DataFileError, data_file, read_data_cases

        spec = data["cases"]
        data = {**data, "cases": []}
        for key in spec:
            if key != "file":
                self.at(
                    ("cases", key),
                    f"unknown key {key!r}",
                    "cases from a data file are `cases: {file: cases.jsonl}`",
                    key=True,
                )
        value = spec.get("file")
        if not isinstance(value, str):
            what = "is required" if value is None else "must be a string"
            self.at(
                ("cases", "file"), what, "name a .jsonl, .csv or .yaml file beside the scenario"
            )
            self.cases_unread = True
            return data, None
        with contextlib.suppress(DataFileError):
            self.data_path = data_file(self.path, value)
        schema = data.get("input_schema")
        table = CaseTable()
        try:
            found = read_data_cases(self.path, value, schema if isinstance(schema, dict) else None)
            self.case_data = found
            for index, row in enumerate(found.rows()):
                if self.case_row(index, row, rows):
                    table.append(CaseTable.encode(row))
        except DataFileError as exc:
            if exc.line:
                display = str(self.path.parent / value)
                self.problems.append(
                    Problem(display, exc.line, exc.col, exc.message, "", exc.remedy)
                )
            else:
                self.at(("cases", "file"), exc.message, exc.remedy)
            self.cases_unread = True
            return data, None
        return data, table

    def case_row(self, index: int, row: dict[str, Any], rows: _DataRows) -> bool:
        """Check one row of a data file as a case; False (and its problems reported) when it
        is not one."""
        name = row.get("name")
        rows.names.append(name if isinstance(name, str) else None)
        try:
            Case.model_validate(row)
        except ValidationError as exc:
            rows.failed = True
            located = {"cases": {index: row}}
            for error in without_union_noise(exc.errors(include_url=False), row):
                self.validation_error({**error, "loc": ("cases", index, *error["loc"])}, located)
            return False
        return True

    def unbuilt(self, data: dict[str, Any], case_names: list[str | None] | None = None) -> None:
        """Check what can be checked when other fields are broken: report everything at once."""
        from goalctl.scenario.checks import check_unbuilt

        sources = {name: data.get(name) for name in TEMPLATE_NAMES}
        texts = {name: text if isinstance(text, str) else None for name, text in sources.items()}
        check_unbuilt(self, data, self.templates(texts), case_names)

    def validation_error(self, error: Any, data: dict[str, Any]) -> None:
        loc = clean_loc(error["loc"], data)
        kind = error["type"]
        if kind == "extra_forbidden":
            name = str(loc[-1])
            known = known_fields(loc[:-1], value_at(data, loc[:-1]))
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            remedy = (
                f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(sorted(known))
            )
            self.at(loc, f"unknown key {name!r}", remedy, key=True)
            return
        if kind == "missing":
            markdown = self.path.suffix.lower() in MARKDOWN_SUFFIXES
            message, remedy = "is required", missing_remedy(loc, markdown)
            display, line, col = self.locate(loc[:-1])
            self.problems.append(Problem(display, line, col, message, format_key(loc), remedy))
            return
        message, remedy = describe(error)
        self.at(loc, message, remedy)

    def templates(self, sources: dict[str, str | None]) -> dict[str, TemplateText]:
        """The system, prompt and judge templates from their ``sources`` (None: built in)."""
        from goalctl.templates import builtin_source

        result: dict[str, TemplateText] = {}
        for name in TEMPLATE_NAMES:
            source = sources.get(name)
            if source is None:
                result[name] = TemplateText(name, builtin_source(f"{name}.md.j2"), 0, builtin=True)
                continue
            found = self.template_lines.get(name) or self.source_map.get((name,))
            result[name] = TemplateText(name, source, found.body_line if found else 1)
        return result


TEMPLATE_NAMES = ("system", "prompt", "judge")


@dataclass
class _DataRows:
    """What reading a data file's rows learned: their own names (for the checks that run when
    the scenario cannot be built) and whether any row is not a case."""

    names: list[str | None] = field(default_factory=list)
    failed: bool = False
