"""Safe YAML: data like JSON, positions for every key, hostile input refused."""

from __future__ import annotations

import time

import pytest

from goalctl.scenario.yamlsafe import MAX_DEPTH, YamlLoadError, load_yaml


def test_data_and_positions() -> None:
    doc = load_yaml("a: |\n  line\nb:\n  - x\n  - {c: 2}\nwhen: 2024-01-01\n", first_line=2)
    assert doc.data == {"a": "line\n", "b": ["x", {"c": 2}], "when": "2024-01-01"}
    a, c = doc.source_map.get(("a",)), doc.source_map.get(("b", 1, "c"))
    assert a is not None
    assert c is not None
    assert (a.key_line, a.body_line) == (2, 3)
    assert (c.line, c.col) == (6, 9)
    assert doc.source_map.get(("b", 7)) is None
    assert doc.source_map.find(("b", 7)) == (5, 3)  # the nearest known ancestor: b's value


def test_yaml_1_2_booleans() -> None:
    assert load_yaml("a: yes\nb: true\nc: on\n").data == {"a": "yes", "b": True, "c": "on"}


def test_merge_keys() -> None:
    doc = load_yaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")
    assert doc.data["use"] == {"x": 1, "y": 3}


def test_empty_document() -> None:
    assert load_yaml("").data is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: !!python/name:os.system x\n",
            "unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system'",
        ),
        ("a: !custom x\n", "unsupported YAML tag '!custom'"),
        ("a: 1\na: 2\n", "duplicate key 'a' (first defined on line 1)"),
        ("? [a, b]\n: c\n", "mapping keys must be strings"),
        ("1: one\n", "mapping keys must be strings"),
        ("a: *missing\n", "YAML syntax error: found undefined alias"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(YamlLoadError) as caught:
        load_yaml(text)
    assert caught.value.issue.message == message


def test_alias_bomb_is_refused_before_expansion() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    started = time.perf_counter()
    with pytest.raises(YamlLoadError, match="expands to more than 100,000 values"):
        load_yaml("\n".join(lines))
    assert time.perf_counter() - started < 5  # bounded: never builds 10**10 values


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlLoadError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        load_yaml("[" * 1000 + "]" * 1000)
