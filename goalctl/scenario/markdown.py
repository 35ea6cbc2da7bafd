"""Markdown scenarios: YAML front matter plus a body whose sections are found by heading text.

marko parses the body's blocks; we read text back from each block's ``source_span`` so that
what a user wrote is kept exactly (templates especially) and every piece has a file position.
Inline parsing is skipped: headings, bullets and fences are all the body needs, and inline
parsing is most of marko's cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from marko import block
from marko.parser import Parser

from goalctl.scenario.positions import KeyPath, LineIndex, Position, SourceMap, format_key

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_ID_BULLET = re.compile(r"^`([^`]+)`\s*:?\s*(.*)$", re.DOTALL)
_SOFT_SUFFIX = re.compile(r"\s*\((soft|hard)\)\s*$", re.IGNORECASE)
_CONTEXT_ITEM = re.compile(r"^([^:]+?)\s*:\s*(.*)$", re.DOTALL)
_BULLET_MARK = re.compile(r"^\s*(?:[-+*]|\d+[.)])\s?")

TEMPLATE_SECTIONS = {"system": "system", "prompt": "prompt", "judge": "judge"}
DESCRIPTION_SECTIONS = {"goal", "description"}


class _BlockParser(Parser):
    def parse_inline(self, element: Any, source: Any) -> None:
        return None


_PARSER = _BlockParser()


@dataclass(frozen=True, slots=True)
class BodyValue:
    """A value defined by the body, where it is defined, and how to cite it."""

    value: Any
    position: Position
    where: str
    """Human description of the place, e.g. ``the '## Success criteria' section (line 12)``."""


@dataclass
class MarkdownParts:
    front_matter: str | None
    front_matter_line: int
    """File line of the front matter's first line."""
    body: dict[KeyPath, BodyValue] = field(default_factory=dict)
    """Values the body defines, keyed by the path they fill (``("system",)``, ``("name",)``)."""
    source_map: SourceMap = field(default_factory=SourceMap)
    """Positions of items inside body values (criteria bullets, context keys)."""
    issues: list[tuple[int, int, str, str]] = field(default_factory=list)
    """(line, col, message, remedy) found while reading the body."""


def split_front_matter(text: str) -> tuple[str | None, int, str, int]:
    """(front matter or None, its first file line, body, body's first file line)."""
    if not (text.startswith(("---\n", "---\r\n")) or text.rstrip() == "---"):
        return None, 0, text, 1
    start = text.index("\n") + 1 if "\n" in text else len(text)
    end = _FRONT_MATTER_END.search(text, start)
    if end is None:
        return text[start:], 2, "", 0
    front = text[start : end.start()]
    after = text.find("\n", end.end())
    body_start = len(text) if after == -1 else after + 1
    body_line = text.count("\n", 0, body_start) + 1
    return front, 2, text[body_start:], body_line


def slugify(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].strip("-")
    return slug or fallback


def parse_markdown(text: str) -> MarkdownParts:
    """Split a Markdown scenario into front matter and the values its body defines."""
    front, front_line, body, body_line = split_front_matter(text)
    parts = MarkdownParts(front, front_line)
    if front is not None and body_line == 0:
        parts.issues.append((1, 1, "front matter is not closed", "end it with a line '---'"))
        return parts
    _BodyReader(parts, text, len(text) - len(body)).read(body)
    return parts


_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,2})(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")


@dataclass(frozen=True, slots=True)
class _Section:
    level: int
    title: str
    heading_offset: int
    content_offset: int
    content: str


def _sections(body: str) -> tuple[str, list[_Section]]:
    """The text before the first heading, and the ``#``/``##`` sections, fences respected."""
    heads: list[tuple[int, str, int, int]] = []
    fence = ""
    offset = 0
    for line in body.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if fence:
            if stripped.strip().startswith(fence) and not stripped.strip().strip(fence[0]):
                fence = ""
        elif (opened := _FENCE_OPEN.match(stripped)) is not None:
            fence = opened.group(1)
        elif (heading := _HEADING.match(stripped)) is not None:
            heads.append(
                (len(heading.group(1)), heading.group(2).strip(), offset, offset + len(line))
            )
        offset += len(line)
    preamble_end = heads[0][2] if heads else len(body)
    sections = []
    for index, (level, title, start, content_start) in enumerate(heads):
        end = heads[index + 1][2] if index + 1 < len(heads) else len(body)
        sections.append(_Section(level, title, start, content_start, body[content_start:end]))
    return body[:preamble_end], sections


class _BodyReader:
    def __init__(self, parts: MarkdownParts, text: str, body_offset: int) -> None:
        self.parts = parts
        self.offset = body_offset
        self.index = LineIndex(text)

    def at(self, body_offset: int) -> Position:
        line, col = self.index.position(self.offset + body_offset)
        return Position(line, col, body_line=line + 1)

    def read(self, body: str) -> None:
        preamble, sections = _sections(body)
        intro = [(preamble, 0)]
        if sections and sections[0].level == 1:
            title = sections.pop(0)
            position = self.at(title.heading_offset)
            self.define(("name",), title.title, position, f"the title (line {position.line})")
            intro.append((title.content, title.content_offset))
        self.description(intro)
        for section in sections:
            if section.level == 2:
                self.section(section)

    def define(self, path: KeyPath, value: Any, position: Position, where: str) -> None:
        previous = self.parts.body.get(path)
        if previous is not None:
            self.parts.issues.append(
                (
                    position.line,
                    position.col,
                    f"{format_key(path)} is defined twice in the body: "
                    f"in {previous.where} and in {where}",
                    "keep one of them",
                )
            )
            return
        self.parts.body[path] = BodyValue(value, position, where)

    def description(self, chunks: list[tuple[str, int]], heading: _Section | None = None) -> None:
        pieces = [
            (text.strip(), offset + len(text) - len(text.lstrip())) for text, offset in chunks
        ]
        pieces = [(text, offset) for text, offset in pieces if text]
        if not pieces:
            return
        text = "\n\n".join(piece for piece, _ in pieces)
        if heading is not None:
            position = self.at(heading.heading_offset)
            where = f"the '## {heading.title}' section (line {position.line})"
        else:
            position = self.at(pieces[0][1])
            where = f"the paragraphs under the title (line {position.line})"
        self.define(("description",), text, position, where)

    def section(self, section: _Section) -> None:
        key = section.title.lower()
        position = self.at(section.heading_offset)
        where = f"the '## {section.title}' section (line {position.line})"
        if key in DESCRIPTION_SECTIONS:
            self.description([(section.content, section.content_offset)], section)
        elif key.startswith("phase:"):
            name = section.title.split(":", 1)[1].strip().lower()
            self.define(("phase_instructions", name), section.content.strip(), position, where)
        elif key in TEMPLATE_SECTIONS:
            fence = _first(self.blocks(section), block.FencedCode, block.CodeBlock)
            if fence is None:
                self.parts.issues.append(
                    (
                        position.line,
                        position.col,
                        f"the '## {section.title}' section has no fenced code block",
                        "put the template in a ``` fenced block",
                    )
                )
                return
            fence_pos = self.at(section.content_offset + fence.source_span[0])
            body_line = fence_pos.line + (1 if isinstance(fence, block.FencedCode) else 0)
            template_pos = Position(fence_pos.line, fence_pos.col, body_line=body_line)
            self.define((TEMPLATE_SECTIONS[key],), _code_text(fence), template_pos, where)
        elif key in ("success criteria", "constraints"):
            items = _first(self.blocks(section), block.List)
            if items is not None:
                field_name = "success_criteria" if key == "success criteria" else "constraints"
                self.define(
                    (field_name,), self.bullets(field_name, items, section), position, where
                )
        elif key == "context":
            self.context(section, position, where)

    def blocks(self, section: _Section) -> list[Any]:
        return list(_PARSER.parse(section.content).children)

    def item_text(self, item: Any, section: _Section) -> str:
        start, end = item.source_span
        raw = section.content[start:end]
        lines = [line.strip() for line in _BULLET_MARK.sub("", raw, count=1).splitlines()]
        return " ".join(line for line in lines if line)

    def item_position(self, item: Any, section: _Section) -> Position:
        return self.at(section.content_offset + item.source_span[0])

    def bullets(self, field_name: str, items: Any, section: _Section) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, item in enumerate(items.children):
            text = self.item_text(item, section)
            entry: dict[str, Any] = {}
            match = _ID_BULLET.match(text)
            if match:
                entry["id"], text = match.group(1).strip(), match.group(2).strip()
            if field_name == "constraints":
                kind = _SOFT_SUFFIX.search(text)
                if kind:
                    entry["constraint_type"] = kind.group(1).lower()
                    text = text[: kind.start()].rstrip()
            else:
                entry["metric"] = "llm_judge"
            if "id" not in entry:
                base = slugify(text, f"{field_name[:-1].replace('_', '-')}-{index + 1}")
                slug, n = base, 2
                while slug in seen:
                    slug, n = f"{base}-{n}", n + 1
                entry["id"] = slug
            seen.add(entry["id"])
            entry["description"] = text
            self.parts.source_map.positions[(field_name, index)] = self.item_position(item, section)
            result.append(entry)
        return result

    def context(self, section: _Section, position: Position, where: str) -> None:
        from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

        children = self.blocks(section)
        fence = _first(children, block.FencedCode)
        items = _first(children, block.List)
        if fence is not None and (items is None or fence.source_span[0] < items.source_span[0]):
            fence_pos = self.at(section.content_offset + fence.source_span[0])
            try:
                document = load_yaml(_code_text(fence), first_line=fence_pos.line + 1)
            except YamlLoadError as exc:
                issue = exc.issue
                self.parts.issues.append((issue.line, issue.col, issue.message, issue.remedy))
                return
            self.parts.source_map.merge(document.source_map, ("context",))
            self.define(("context",), document.data, fence_pos, where)
            return
        if items is None:
            return
        context: dict[str, Any] = {}
        for item in items.children:
            text = self.item_text(item, section)
            match = _CONTEXT_ITEM.match(text)
            item_pos = self.item_position(item, section)
            if match is None:
                self.parts.issues.append(
                    (
                        item_pos.line,
                        item_pos.col,
                        f"context item {text!r} is not 'key: value'",
                        "write each context bullet as '- key: value'",
                    )
                )
                continue
            key, raw = match.group(1).strip().strip("`"), match.group(2).strip()
            context[key] = _scalar(raw)
            self.parts.source_map.positions[("context", key)] = item_pos
        self.define(("context",), context, position, where)


def _first(children: list[Any], *kinds: type) -> Any:
    for child in children:
        if isinstance(child, kinds):
            return child
    return None


def _code_text(fence: Any) -> str:
    return "".join(str(child.children) for child in fence.children)


def _scalar(raw: str) -> Any:
    """A context value typed like YAML would type it (``10000`` is a number), else the text."""
    from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

    if not raw:
        return ""
    try:
        value = load_yaml(raw).data
    except YamlLoadError:
        return raw
    return value if isinstance(value, str | int | float | bool | list) or value is None else raw
