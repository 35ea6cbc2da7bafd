"""Safe, bounded YAML loading that keeps the position of every key and value.

libyaml (through ruamel.yaml's C parser) composes the node tree, which carries marks and
resolved tags; we build plain JSON-like data from the nodes ourselves. That is one fast pass
(the round-trip loader is ~10x slower) and it lets us refuse hostile input before any object is
built: unknown tags, alias bombs (expanded size is counted with aliases shared), deep nesting.
"""

from __future__ import annotations

import functools
import io
import math
import re
from dataclasses import dataclass
from typing import Any

from goalctl.scenario.positions import KeyPath, LineIndex, Position, SourceMap, format_key

MAX_NODES = 100_000
"""Nodes in a document once aliases are expanded: bounds memory before anything is built."""
MAX_DEPTH = 64
MAX_CHARS = 10_000_000
"""Characters of scalar text once aliases are expanded: a file of 1 MiB may say a 900 KB
string five thousand times, and everything downstream would then hold gigabytes."""
MAX_BRACKET_DEPTH = 1000
"""libyaml composes flow collections (``[[[...]]]``) recursively in C: some tens of thousands
of levels overflow the stack and kill the process, before any depth check of ours can run."""
_BRACKETS = re.compile(r"[\[\]{}]")
MAX_BLOCK_DEPTH = 200
"""libyaml composes block collections recursively in C too: ``- - - …`` or ``? ? ? …`` some
tens of thousands deep crash the process. Estimated before parsing, from indentation and
indicators (see :func:`_deep_block`), generously above :data:`MAX_DEPTH` so that no document
the builder would accept is refused."""
MAX_INT_DIGITS = 1000
"""Significant digits of an integer in any base: beyond ~4,300 decimal digits Python cannot
even print it, and every consumer (templates, reports, JSON) would fail on it."""
_LINE_START = re.compile(r"^( *)((?:(?:[-?:]|[&!][^ \t\n]*)(?:[ \t]+|(?=\n)|\Z))*)(.?)", re.M)
_RUNS = re.compile(r"\n *((?:(?:[-?:]|[&!][^ \t\n]*)(?:[ \t]+|(?=\n)|\Z))+)")


def _deep_bracket(text: str) -> int | None:
    """The offset where ``[`` and ``{`` nest deeper than :data:`MAX_BRACKET_DEPTH`, if they do.

    Brackets are counted everywhere, quoted or not: only a hostile file comes near the limit.
    """
    if text.count("[") + text.count("{") <= MAX_BRACKET_DEPTH:
        return None  # nearly every file: two scans at C speed
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                return match.start()
        elif depth:
            depth -= 1
    return None


def _deep_block(text: str) -> int | None:
    """The offset of the line where block nesting may pass :data:`MAX_BLOCK_DEPTH`, if any.

    An upper bound, computed like Python's INDENT/DEDENT: each line deeper than the lines
    above it opens at most one collection per leading ``-``, ``?`` or ``:`` indicator, one for
    an implicit key, and one more when it starts with ``-`` (a sequence may sit at its parent
    key's indentation). Lines of block scalars count as if they were structure: only absurd
    indentation comes near the limit.
    """
    # The stack holds at most one line per column up to the deepest indentation, each opening
    # at most 2 levels more than the characters of its indicators: a bound found at C speed,
    # enough for nearly every file.
    text_nl = "\n" + text
    columns = next((n for n in (8, 16, 32, 64) if "\n" + " " * n not in text_nl), len(text))
    longest = max(map(len, _RUNS.findall(text_nl)), default=0)
    if columns * (longest + 2) <= MAX_BLOCK_DEPTH:
        return None
    stack: list[tuple[int, int]] = []  # (column, levels opened on that line)
    depth = 0
    for match in _LINE_START.finditer(text):
        indent, run, first = match.groups()
        if not run and first in ("", "\n", "#"):
            continue  # blank lines and comments are no structure
        column = len(indent)
        while stack and stack[-1][0] >= column:
            depth -= stack.pop()[1]
        tokens = run.split()
        levels = 1 + sum(token in "-?:" for token in tokens) + (run[:1] == "-")
        stack.append((column, levels))
        depth += levels
        if depth > MAX_BLOCK_DEPTH:
            return match.start(2)
    return None


_Loader: Any
try:  # the C parser; the pure-Python parser is the fallback where the extension is missing
    from ruamel.yaml.cyaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - exercised only without ruamel.yaml.clib
    from ruamel.yaml.loader import SafeLoader as _Loader

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"


@dataclass(frozen=True, slots=True)
class YamlIssue:
    line: int
    col: int
    message: str
    key: str = ""
    remedy: str = ""


class YamlLoadError(Exception):
    def __init__(self, issue: YamlIssue) -> None:
        self.issue = issue
        super().__init__(issue.message)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    data: Any
    source_map: SourceMap


def load_yaml(text: str, *, first_line: int = 1) -> YamlDocument:
    """Load one YAML document; ``first_line`` is the file line where ``text`` starts."""
    builder = _Builder(first_line, text)
    deep = _deep_bracket(text)
    if deep is not None:
        line, col = builder.place_index(deep)
        message = f"brackets nest deeper than {MAX_BRACKET_DEPTH:,} levels"
        raise YamlLoadError(YamlIssue(line, col, message, remedy="flatten the document"))
    deep = _deep_block(text)
    if deep is not None:
        line, col = builder.place_index(deep)
        message = (
            "block nesting (indentation and '-', '?', ':' indicators) is deeper than "
            f"{MAX_BLOCK_DEPTH} levels"
        )
        raise YamlLoadError(YamlIssue(line, col, message, remedy="flatten the document"))
    loader = _Loader(io.StringIO(text))
    try:
        root = loader.get_single_node()
    except Exception as exc:  # every parser/scanner/reader error of ruamel is reported as such
        raise YamlLoadError(_issue_from_yaml_error(exc, builder)) from None
    finally:
        _dispose(loader)
    source_map = SourceMap()
    if root is None:
        return YamlDocument(None, source_map)
    builder.count(root, 0, {})
    data = builder.build(root, ())
    source_map.add((), builder.position(root))
    source_map.add_resolver((), functools.partial(_resolve, builder, root))
    return YamlDocument(data, source_map)


def _resolve(builder: _Builder, root: Any, path: KeyPath) -> Position | None:
    """The position of ``path`` in the node tree, found when a problem needs it."""
    node, key = root, None
    for part in path:
        kind = type(node).__name__
        if kind == "MappingNode":
            for key_node, value_node in node.value:
                if key_node.value == part and type(key_node).__name__ == "ScalarNode":
                    node, key = value_node, key_node
                    break
            else:
                return None
        elif kind == "SequenceNode" and isinstance(part, int) and 0 <= part < len(node.value):
            node, key = node.value[part], None
        else:
            return None
    return builder.position(node, key)


def _dispose(loader: Any) -> None:
    dispose = getattr(loader, "dispose", None)
    if dispose is not None:
        dispose()


_OPENINGS = (
    "while scanning a quoted scalar",
    "while parsing a flow",
    "while scanning a simple key",
)


def _starts_at_context(context: object) -> bool:
    """Whether the error's context names a construct that was opened and never closed."""
    return isinstance(context, str) and context.startswith(_OPENINGS)


def _issue_from_yaml_error(exc: Exception, builder: _Builder) -> YamlIssue:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem == "but found another document":
        message = "a scenario file holds one YAML document, but another one starts here"
        line, col = builder.place(mark)
        return YamlIssue(line, col, message, remedy="remove the extra '---' line")
    if problem:
        message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    else:  # ReaderError and friends carry their text in str()
        message = "YAML error: " + str(exc).split("\n")[0]
    context_mark = getattr(exc, "context_mark", None)
    if context_mark is not None and _starts_at_context(context):
        # An unclosed quote or bracket is found only where the file ends: the place to fix is
        # where it opens.
        line, col = builder.place(context_mark)
        if mark is not None and mark is not context_mark:
            message += f"; noticed at line {builder.place(mark)[0]}"
        return YamlIssue(line, col, message)
    if mark is not None:
        line, col = builder.place(mark)
        return YamlIssue(line, col, message)
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        line, col = builder.place_index(position)
        return YamlIssue(line, col, message)
    return YamlIssue(builder.offset + 1, 1, message)


class _HugeInteger(ValueError):
    """An integer literal with more than :data:`MAX_INT_DIGITS` significant digits."""


def _integer(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    bases = {"0o": 8, "0x": 16, "0b": 2}
    base = bases.get(digits[:2].lower(), 10)
    if base != 10:
        digits = digits[2:]
    if len(digits) > MAX_INT_DIGITS and len(digits.lstrip("0")) > MAX_INT_DIGITS:
        raise _HugeInteger  # checked before int(): converting is quadratic in the digits
    return sign * int(digits, base)


class _Builder:
    def __init__(self, first_line: int, text: str) -> None:
        self.offset = first_line - 1
        self.text = text
        self.total = 0
        self.chars = 0
        self._lines: LineIndex | None = None

    def place_index(self, index: int) -> tuple[int, int]:
        """File (line, col) of a character index. Only "\n" ends a line, as in editors and
        GitHub annotations (libyaml's own line count also breaks at NEL, LS and PS)."""
        if self._lines is None:
            self._lines = LineIndex(self.text)
        line, col = self._lines.position(max(0, min(index, len(self.text))))
        return line + self.offset, col

    def place(self, mark: Any) -> tuple[int, int]:
        index = getattr(mark, "index", None)
        if isinstance(index, int):
            return self.place_index(index)
        return mark.line + 1 + self.offset, mark.column + 1

    def position(self, node: Any, key: Any = None) -> Position:
        line, col = self.place(node.start_mark)
        body_line = line
        if getattr(node, "style", None) in ("|", ">"):
            body_line = line + 1  # block scalar text starts on the line after the indicator
        if key is None:
            return Position(line, col, body_line=body_line)
        key_line, key_col = self.place(key.start_mark)
        return Position(line, col, key_line=key_line, key_col=key_col, body_line=body_line)

    def fail(self, node: Any, message: str, path: KeyPath = (), remedy: str = "") -> YamlLoadError:
        position = self.position(node)
        return YamlLoadError(
            YamlIssue(position.line, position.col, message, format_key(path), remedy)
        )

    def count(self, node: Any, depth: int, sizes: dict[int, tuple[int, int]]) -> tuple[int, int]:
        """Expanded (values, characters) of ``node``; an aliased node counts once per use."""
        known = sizes.get(id(node))
        if known is not None:
            self.total += known[0]
            self.chars += known[1]
            self._check_total(node)
            return known
        if depth > MAX_DEPTH:
            raise self.fail(
                node, f"nesting deeper than {MAX_DEPTH} levels", remedy="flatten the document"
            )
        size, chars = 1, 0
        self.total += 1
        value = node.value
        if isinstance(value, str):
            chars = len(value)
            self.chars += chars
        else:
            for item in value:
                for child in item if isinstance(item, tuple) else (item,):
                    child_size, child_chars = self.count(child, depth + 1, sizes)
                    size += child_size
                    chars += child_chars
        sizes[id(node)] = (size, chars)
        self._check_total(node)
        return size, chars

    def _check_total(self, node: Any) -> None:
        if self.chars > MAX_CHARS:
            raise self.fail(
                node,
                f"document expands to more than {MAX_CHARS:,} characters",
                remedy="too many aliases of long values; is this an alias bomb?",
            )
        if self.total > MAX_NODES:
            raise self.fail(
                node,
                f"document expands to more than {MAX_NODES:,} values",
                remedy="too many aliases or values; is this an alias bomb?",
            )

    def build(self, node: Any, path: KeyPath) -> Any:
        tag = node.tag
        kind = type(node).__name__
        if kind == "ScalarNode":
            return self.scalar(node, path)
        if kind == "SequenceNode":
            if tag != _TAG + "seq":
                raise self.fail(node, f"unsupported YAML tag {tag!r}", path, "remove the tag")
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        if tag != _TAG + "map":
            raise self.fail(node, f"unsupported YAML tag {tag!r}", path, "remove the tag")
        mapping: dict[str, Any] = {}
        explicit: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                self._merge(mapping, value_node, path)
                continue
            key = self.build(key_node, path) if type(key_node).__name__ == "ScalarNode" else None
            if not isinstance(key, str):
                raise self.fail(key_node, "mapping keys must be strings", path, "quote the key")
            item_path = (*path, key)
            if key in explicit:
                first = explicit[key]
                raise self.fail(
                    key_node, f"duplicate key {key!r} (first defined on line {first})", item_path
                )
            explicit[key] = self.place(key_node.start_mark)[0]
            mapping[key] = self.build(value_node, item_path)
        return mapping

    def scalar(self, node: Any, path: KeyPath) -> Any:
        """A scalar as JSON would hold it, under YAML 1.2's core rules.

        Built here rather than by ruamel's constructor: its YAML 1.1 leftovers warn on
        ``1e-05``, and a bad ``!!int`` there raises whatever Python raises.
        """
        tag, value = node.tag, node.value
        if tag in (_STR, _TAG + "timestamp"):
            return value  # dates stay as written: inputs must stay JSON-compatible
        if tag == _TAG + "null":
            return None
        kind = tag[len(_TAG) :] if tag.startswith(_TAG) else tag
        try:
            if tag == _TAG + "bool":
                return {"true": True, "false": False}[value.lower()]
            if tag == _TAG + "int":
                return _integer(value)
            if tag == _TAG + "float":
                number = float(value.replace("_", ""))
                if not math.isfinite(number):
                    raise ValueError("not a finite number")
                return number
        except _HugeInteger:
            message = f"integer {value[:12]}… has more than {MAX_INT_DIGITS:,} digits"
            raise self.fail(node, message, path, "write it as a string") from None
        except (ValueError, KeyError, ArithmeticError):
            raise self.fail(node, f"invalid {kind} value {value[:40]!r}", path) from None
        raise self.fail(node, f"unsupported YAML tag {tag!r}", path, "remove the tag")

    def _merge(self, mapping: dict[str, Any], value_node: Any, path: KeyPath) -> None:
        """YAML merge keys (``<<: *defaults``): explicit keys win over merged ones."""
        sources = value_node.value if type(value_node).__name__ == "SequenceNode" else [value_node]
        for source in sources:
            merged = self.build(source, path)
            if not isinstance(merged, dict):
                raise self.fail(source, "a merge key (<<) needs a mapping", path)
            for key, item in merged.items():
                mapping.setdefault(key, item)
