"""Checks every HTML page goalctl writes must pass, with a real HTML5 parser (html5lib).

Strict parsing refuses any parse error (a tag left open, a stray end tag, a bad attribute); on
the tree: ids are unique, every ``<img>`` has alt text, every table has header cells, there is
one ``<main>`` and a language, and nothing is loaded or linked from the network.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import html5lib

NS = "{http://www.w3.org/1999/xhtml}"


def parse_html(text: str) -> ET.Element:
    """The document's tree; raises on the first parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parse(text)


def elements(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(NS + tag))


def text_of(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def check_html(text: str) -> ET.Element:
    """Assert the page is well formed and accessible at the level a test can see."""
    root = parse_html(text)
    assert root.get("lang") == "en"
    assert len(elements(root, "main")) == 1
    assert elements(root, "title")
    assert text_of(elements(root, "title")[0])
    ids = Counter(e.get("id") for e in root.iter() if e.get("id") is not None)
    duplicated = [i for i, n in ids.items() if n > 1]
    assert not duplicated, f"ids used twice: {duplicated}"
    for image in elements(root, "img"):
        assert image.get("alt") is not None, "an <img> without alt"
    for table in elements(root, "table"):
        assert elements(table, "th"), "a table without header cells"
    for element in root.iter():
        for attribute in ("src", "href"):
            value = (element.get(attribute) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), f"external {attribute}: {value}"
        if element.tag == NS + "a" and element.get("href", "").startswith("#"):
            assert element.get("href", "")[1:] in ids, (
                f"link to a missing id: {element.get('href')}"
            )
    return root
