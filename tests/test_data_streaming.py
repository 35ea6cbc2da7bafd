"""Data files are streamed: cases kept as compact JSON (CaseTable), positions found again from
the file when a problem is reported, limits checked while reading, memory that does not grow
with each row's objects."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goalctl import reading
from goalctl.reading import read_bytes
from goalctl.scenario import datafile
from goalctl.scenario.case_table import CaseTable
from goalctl.scenario.loader import load_scenario
from goalctl.scenario.model import Case
from goalctl.validation import validate_paths

HEAD = """\
id: stream
name: Stream
description: Echo the number.
provider: scripted
success_criteria:
  - {id: says, description: Says a number, metric: output_matches, target: '\\d'}
input_schema:
  type: object
  properties: {n: {type: integer}, note: {type: string}}
prompt: "Number {{ input.n }}"
responses: ['the number is 1']
"""


def project(tmp_path: Path, cases: str, data_name: str = "", data: str = "") -> Path:
    (tmp_path / ".git").mkdir(exist_ok=True)
    path = tmp_path / "stream.yaml"
    path.write_text(HEAD + f"cases: {cases}\n", encoding="utf-8")
    if data_name:
        (tmp_path / data_name).write_text(data, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    return [str(p).removeprefix(str(path.parent) + "/") for p in validate_paths([path]).problems]


# Written inline as JSON, which is YAML: text of the basic plane (no surrogate-pair escapes).
text = st.text(st.characters(min_codepoint=32, max_codepoint=0xFFFD, exclude_categories=("Cs",)))
rows = st.lists(
    st.fixed_dictionaries(
        {"input": st.fixed_dictionaries({"n": st.integers(-(10**12), 10**12)})},
        optional={
            "expected": st.one_of(st.none(), text.filter(lambda t: len(t) <= 8), st.integers()),
            "description": text.filter(lambda t: len(t) <= 12),
            "flaky": st.booleans(),
            "trials": st.integers(1, 5),
        },
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(rows=rows)
def test_a_jsonl_file_gives_the_cases_its_rows_would_give_inline(
    rows: list[dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # One steady case: a goal whose every case is flaky is refused (and rightly so).
    named = [{"name": f"c{i}", **row} for i, row in enumerate(rows)]
    named.append({"name": "steady", "input": {"n": 0}})
    folder = tmp_path_factory.mktemp("jsonl")
    from_file = project(
        folder, "{file: data.jsonl}", "data.jsonl", "".join(json.dumps(r) + "\n" for r in named)
    )
    streamed = load_scenario(from_file)
    inline = load_scenario(project(tmp_path_factory.mktemp("inline"), json.dumps(named)))
    assert isinstance(streamed.cases, CaseTable)
    assert list(streamed.cases) == list(inline.cases)
    assert streamed.cases[len(named) - 1] == inline.cases[len(named) - 1]
    assert streamed.cases[1:3] == inline.cases[1:3]
    assert [streamed.case_name(i) for i in range(len(named))] == [r["name"] for r in named]


def test_csv_and_yaml_files_give_the_same_cases(tmp_path: Path) -> None:
    csv_path = project(tmp_path, "{file: data.csv}", "data.csv", "name,n\r\na,1\r\nb,2\r\n")
    from_csv = load_scenario(csv_path).cases
    (tmp_path / "data.yaml").write_text(
        "- {name: a, input: {n: 1}}\n- {name: b, input: {n: 2}}\n", encoding="utf-8"
    )
    csv_path.write_text(HEAD + "cases: {file: data.yaml}\n", encoding="utf-8")
    from_yaml = load_scenario(csv_path).cases
    expected = [Case(name="a", input={"n": 1}), Case(name="b", input={"n": 2})]
    assert list(from_csv) == list(from_yaml) == expected


def test_positions_are_found_again_after_streaming(tmp_path: Path) -> None:
    # A BOM, CRLF line ends, a blank line and an indented row: lines and columns stay exact.
    data = (
        '\ufeff{"name": "a", "input": {"n": 1}}\r\n\r\n'
        '  {"name": "b", "input": {"n": "two"}}\r\n'
        '{"input": {"n": 3}, "name": "a"}\n'
    )
    path = project(tmp_path, "{file: data.jsonl}", "data.jsonl", data)
    assert problems(path) == [
        "data.jsonl:3:17: cases[1].input.n: input does not match input_schema at n: "
        "'two' is not of type 'integer'",
        "data.jsonl:4:21: cases[2].name: case name 'a' is also the name of cases[0] "
        "(give every case its own name)",
    ]


def test_a_csv_cell_is_found_again_on_its_line(tmp_path: Path) -> None:
    data = 'name,note,n\na,"x, y",1\nb,"two\nlines",2\nc,z,many\n'
    path = project(tmp_path, "{file: data.csv}", "data.csv", data)
    assert problems(path) == [
        "data.csv:5:5: cases[2].input.n: input does not match input_schema at n: "
        "'many' is not of type 'integer'"
    ]


def test_a_row_error_after_good_rows_is_reported_with_them(tmp_path: Path) -> None:
    data = '{"name": "a", "input": {"n": 1}, "nmae": 1}\n{"input": \n'
    path = project(tmp_path, "{file: data.jsonl}", "data.jsonl", data)
    assert problems(path) == [
        "data.jsonl:1:34: cases[0].nmae: unknown key 'nmae' (did you mean 'name'?)",
        "data.jsonl:2:11: not valid JSON: Expecting value",
    ]


def test_more_rows_than_a_file_may_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datafile, "MAX_CASES", 2)
    data = "".join(json.dumps({"input": {"n": n}}) + "\n" for n in range(3))
    path = project(tmp_path, "{file: data.jsonl}", "data.jsonl", data)
    assert problems(path) == [
        "data.jsonl:3:1: the data file holds more than 2 cases; at most 2 are read "
        "(split it across several scenarios)"
    ]


def test_the_size_limit_is_checked_while_streaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(reading.LIMITS, "data", 64)
    data = "".join(json.dumps({"input": {"n": n}}) + "\n" for n in range(5))
    path = project(tmp_path, "{file: data.jsonl}", "data.jsonl", data)
    [problem] = problems(path)
    assert problem.startswith("stream.yaml:12:15: cases.file: file is too large (")
    assert "the limit is 64)" in problem


def test_bad_utf8_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = project(tmp_path, "{file: data.jsonl}")
    (tmp_path / "data.jsonl").write_bytes(b'{"input": {"n": 1}}\n{"name": "\xff"}\n')
    assert problems(path) == ["data.jsonl:2:11: invalid UTF-8 (byte 0xff at offset 30)"]


def test_loading_keeps_a_few_bytes_per_case(tmp_path: Path) -> None:
    """The loaded scenario holds each case as its compact row, and loading peaks at what one
    row's objects take, not every row's: 8,000 cases cost little more than 1,000. (Few
    enough that validation's renders stay far inside their time limit under tracemalloc on a
    loaded machine.)"""

    def load(count: int) -> tuple[int, int]:
        folder = tmp_path / str(count)
        folder.mkdir()
        data = "".join(
            json.dumps({"name": f"c{n}", "input": {"n": n, "note": "x" * 40}}) + "\n"
            for n in range(count)
        )
        path = project(folder, "{file: data.jsonl}", "data.jsonl", data)
        tracemalloc.start()
        try:
            scenario = load_scenario(path)
            held, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(scenario.cases) == count
        return held, peak

    load(100)  # imports and caches out of the way
    small_held, small_peak = load(1_000)
    big_held, big_peak = load(8_000)
    per_case_held = (big_held - small_held) / 7_000
    per_case_peak = (big_peak - small_peak) / 7_000
    assert per_case_held < 400, per_case_held  # the row's JSON (~60 bytes) and its slot
    assert per_case_peak < 600, per_case_peak


def test_reading_a_small_file_does_not_allocate_its_kinds_limit(tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    path.write_bytes(b"x" * 1000)
    tracemalloc.start()
    try:
        assert read_bytes(path, "data") == b"x" * 1000  # the data limit is 512 MiB
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_a_file_that_lies_about_its_size_is_still_bounded(tmp_path: Path) -> None:
    # /proc files say they are empty; their bytes are still counted against the limit.
    text = Path("/proc/self/status").read_bytes()
    assert read_bytes(Path("/proc/self/status"), "data", limit=10**6)[:5] == text[:5]
    with pytest.raises(reading.ReadError, match="too large"):
        read_bytes(Path("/proc/self/status"), "data", limit=10)


def test_validation_render_budget_grows_with_the_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four renders' worth of limits up to 10,000 cases, one more per 2,500 after (here
    scaled down): a 100,000-case data file is never refused for its size."""
    from goalctl.scenario import checks

    budgets: list[int] = []
    shared = checks.render_limits

    def recording(renders: int = 1, **kwargs: object) -> object:
        budgets.append(renders)
        return shared(renders, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checks, "render_limits", recording)
    monkeypatch.setattr(checks, "CASES_PER_RENDER", 2)
    rows = "".join(json.dumps({"input": {"n": n}}) + "\n" for n in range(11))
    load_scenario(project(tmp_path, "{file: data.jsonl}", "data.jsonl", rows))
    load_scenario(project(tmp_path, "[{input: {n: 1}}, {input: {n: 2}}]"))
    assert budgets == [6, checks.VALIDATION_RENDERS]


def test_a_yaml_data_file_has_its_own_smaller_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """YAML is parsed whole, so it is not given the streaming formats' 512 MiB."""
    assert reading.LIMITS["data"] > datafile.MAX_YAML_BYTES
    monkeypatch.setattr(datafile, "MAX_YAML_BYTES", 40)
    data = "".join(f"- {{name: c{n}, input: {{n: {n}}}}}\n" for n in range(3))
    path = project(tmp_path, "{file: data.yaml}", "data.yaml", data)
    [problem] = problems(path)
    assert problem.startswith("stream.yaml:12:15: cases.file: file is too large (")
    assert "the limit is 40)" in problem
