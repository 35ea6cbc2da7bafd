"""A run's case records read back from its checkpoint journal, one at a time, in case order.

The runner keeps no case record in memory: each trial's record is in the checkpoint journal
(where resume finds it too), and the :class:`~goalctl.trials.book.TrialBook` knows where. The
report is built from these records in one pass, and ``report["cases"]`` is a
:class:`JournaledCases`: a sequence that reads them again whenever it is iterated, so
report.json, report.md, JUnit and the console each walk the cases without all of them being
in memory at once. :func:`report_chunks` writes report.json from it piece by piece, byte for
byte what ``json.dumps(report, indent=2, ensure_ascii=False)`` gives.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import fields
from itertools import chain, islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, overload

from goalctl.reports.data import CaseRecord

if TYPE_CHECKING:
    from goalctl.trials.book import TrialBook

CaseData = dict[str, Any]


def _same(value: Any) -> Any:
    return value


class JournaledCases(Sequence[CaseData]):
    """The records of a run's cases (``CaseRecord.to_json`` data, a case of several trials
    summarized), read from the checkpoint journal each time they are walked.

    ``redact`` is applied to each record as it is read: what the report's final redaction
    did to the whole report, done to one case at a time.
    """

    def __init__(self, path: Path, book: TrialBook, redact: Callable[[Any], Any] = _same) -> None:
        self._path = path
        self._book = book
        self._redact = redact
        self._length: int | None = None
        """Counted when first asked (a run asks for one case's record at a time)."""

    def __len__(self) -> int:
        if self._length is None:
            self._length = sum(1 for _ in self._book.cases())
        return self._length

    def _walk(self) -> Iterator[tuple[IO[bytes], int, list[int]]]:
        """Each case with a trial run and the offsets of its trials, with the journal open."""
        cases = self._book.cases()
        first = next(cases, None)
        if first is None:
            return  # no journal yet, maybe
        with self._path.open("rb") as journal:
            for index, offsets in chain([first], cases):
                yield journal, index, offsets

    def __iter__(self) -> Iterator[CaseData]:
        for journal, index, offsets in self._walk():
            data = None
            if self._book.planned[index] == 1:
                data = _line_at(journal, offsets[0])
            if data is None or not _as_written(data):
                data = self._case(journal, index, offsets).to_json(copy=False)
            yield self._redact(data)

    def having(self, key: str) -> Iterator[CaseData]:
        """The cases whose ``key`` is there and not empty (earlier attempts, answers, a
        trajectory: what few cases have), the others passed over without being decoded or
        redacted."""
        marker = json.dumps(key).encode() + b":"
        for journal, index, offsets in self._walk():
            if self._book.planned[index] == 1:
                journal.seek(offsets[0])
                line = journal.readline()
                if marker not in line:  # not a key anywhere in the record
                    continue
                data = json.loads(line)
                if not _as_written(data):
                    data = self._case(journal, index, offsets).to_json(copy=False)
            else:
                lines = [_raw_line_at(journal, offset) for offset in offsets]
                if not any(marker in line for line in lines):
                    continue  # a case's record shows what one of its trials has
                trials = [CaseRecord.from_json(_decoded(journal, line)) for line in lines]
                data = self._book.case_record(index, trials).to_json(copy=False)
            if data.get(key):
                yield self._redact(data)

    def records(self) -> Iterator[CaseRecord]:
        """Each case's record, in case order (before ``redact``)."""
        for journal, index, offsets in self._walk():
            yield self._case(journal, index, offsets)

    def read(self, index: int) -> CaseRecord:
        """The record of case ``index`` (which has a trial run), before ``redact``."""
        with self._path.open("rb") as journal:
            return self._case(journal, index, self._book.offsets(index))

    def _case(self, journal: IO[bytes], index: int, offsets: Sequence[int]) -> CaseRecord:
        trials = [CaseRecord.from_json(_line_at(journal, offset)) for offset in offsets]
        return self._book.case_record(index, trials)

    @overload
    def __getitem__(self, position: int) -> CaseData: ...

    @overload
    def __getitem__(self, position: slice) -> list[CaseData]: ...

    def __getitem__(self, position: int | slice) -> CaseData | list[CaseData]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError("case index out of range")
        index, offsets = next(islice(self._book.cases(), position, None))
        with self._path.open("rb") as journal:
            data: CaseData = self._redact(self._case(journal, index, offsets).to_json(copy=False))
        return data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} cases read from {self._path}>"


_ORDER = ("case", *(f.name for f in fields(CaseRecord) if f.name != "index"))
_ALWAYS = frozenset(_ORDER[: _ORDER.index("constraints") + 1])
_LEFT_OUT_EMPTY = ("earlier_attempts", "trajectory", "answers")


def _as_written(data: CaseData) -> bool:
    """Whether a checkpoint line is ``CaseRecord.to_json`` data as it is (this goalctl wrote
    it): then it needs no record made and taken apart again (which costs a deep copy)."""
    keys = list(data)
    if not data.keys() >= _ALWAYS or keys != [k for k in _ORDER if k in data]:
        return False
    if any(key in data and not data[key] for key in _LEFT_OUT_EMPTY):
        return False
    return data.get("trial") != 1 and data.get("flaky") is not False and "trials" not in data


def _line_at(journal: IO[bytes], offset: int) -> CaseData:
    return _decoded(journal, _raw_line_at(journal, offset))


def _raw_line_at(journal: IO[bytes], offset: int) -> bytes:
    journal.seek(offset)
    return journal.readline()


def _decoded(journal: IO[bytes], line: bytes) -> CaseData:
    data = json.loads(line)
    if not isinstance(data, dict):  # the journal was checked as it was written and read
        raise ValueError(f"{journal.name}: a line that is no case record")
    return data


def report_chunks(report: Mapping[str, Any]) -> Iterator[str]:
    """``json.dumps(report, indent=2, ensure_ascii=False) + "\\n"`` in pieces: the report
    without its cases, then each case as it is read, each piece a whole JSON value or the
    punctuation between two (so secrets can be hidden piece by piece)."""
    cases = report["cases"]
    if isinstance(cases, list):  # small and in memory already: one piece
        yield json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        return
    token = f"goalctl-cases-{secrets.token_hex(16)}"
    text = json.dumps({**report, "cases": token}, indent=2, ensure_ascii=False)
    head, tail = text.split(json.dumps(token), 1)
    yield head
    # As json.dumps indents a list that is the value of a key at the top level: each item
    # at four spaces, the closing bracket at two.
    first = True
    for case in cases:
        item = json.dumps(case, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield ("[\n    " if first else ",\n    ") + item
        first = False
    yield "[]" if first else "\n  ]"
    yield tail + "\n"
