"""JSON Schema validation on goalctl's bounded regex engine.

jsonschema compiles and searches patterns with Python's ``re``: unbounded in time, and blind
to the limits of :mod:`goalctl.regexes`. Here the metaschema's ``format: regex`` (what a
``pattern`` and the keys of ``patternProperties`` must be) is checked by goalctl's compiler,
and the keywords that search (``pattern``, ``patternProperties``, ``additionalProperties``)
search on its engine, so a scenario's schema is bounded like every other pattern in it.
(``unevaluatedProperties`` still searches with ``re``, on patterns that passed the same
limits.)
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def format_checker() -> Any:
    """The metaschema's format checker, with ``format: regex`` (what ``pattern`` and the keys
    of ``patternProperties`` must be) checked by goalctl's bounded compiler, not ``re``."""
    import jsonschema

    from goalctl.regexes import PatternError, check_pattern

    def is_regex(instance: object) -> bool:
        return not isinstance(instance, str) or bool(check_pattern(instance))

    checker = jsonschema.FormatChecker(jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers)
    checker.checks("regex", raises=PatternError)(is_regex)
    return checker


def _bounded_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """JSON Schema ``pattern`` on the bounded regex engine (jsonschema's own uses ``re``)."""
    import jsonschema

    from goalctl.regexes import PatternError, search

    if not validator.is_type(instance, "string"):
        return
    try:
        found = search(pattern, instance)
    except PatternError as exc:
        yield jsonschema.ValidationError(str(exc))
        return
    if found is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _bounded_pattern_properties(
    validator: Any, pattern_properties: dict[str, Any], instance: Any, schema: Any
) -> Any:
    """JSON Schema ``patternProperties`` on the bounded regex engine."""
    import jsonschema

    from goalctl.regexes import PatternError, search

    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            try:
                found = search(pattern, key)
            except PatternError as exc:
                yield jsonschema.ValidationError(str(exc))
                return
            if found is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _bounded_additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Any:
    """JSON Schema ``additionalProperties``, whose keys left over from ``patternProperties``
    are found on the bounded regex engine."""
    import jsonschema

    from goalctl.regexes import PatternError, search

    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras: list[str] = []
    try:
        for key in instance:
            if key not in properties and not any(search(p, key) for p in patterns):
                extras.append(key)
    except PatternError as exc:
        yield jsonschema.ValidationError(str(exc))
        return
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        joined = ", ".join(repr(extra) for extra in sorted(extras))
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            listed = ", ".join(repr(pattern) for pattern in sorted(patterns))
            yield jsonschema.ValidationError(
                f"{joined} {verb} not match any of the regexes: {listed}"
            )
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield jsonschema.ValidationError(
                f"Additional properties are not allowed ({joined} {verb} unexpected)"
            )


@functools.cache
def validator_class() -> Any:
    import jsonschema

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator,
        {
            "pattern": _bounded_pattern,
            "patternProperties": _bounded_pattern_properties,
            "additionalProperties": _bounded_additional_properties,
        },
    )
