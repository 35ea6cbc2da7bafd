"""Model names as a scenario's ``models`` and ``--model a,b`` give them."""

from __future__ import annotations

import re
from collections.abc import Sequence

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")
NAME_RULE = "letters, digits and . _ : / @ + -, starting with a letter or digit"


def check_model_name(name: str) -> str:
    """A model name: refused when blank (it would be passed over), padded (sent with its
    spaces) or holding a comma (``--model a,b`` could not name it)."""
    if not name.strip():
        raise ValueError("give a model name (it is blank)")
    if name != name.strip():
        raise ValueError(f"{name!r}: write the model name without spaces around it")
    if "," in name:
        raise ValueError(f"{name!r}: a model name holds no comma (`--model a,b` separates them)")
    if not _NAME.fullmatch(name):
        # Compared models are written into tables, file names and annotations: plain names.
        raise ValueError(f"{name!r} is not a model name ({NAME_RULE})")
    return name


def check_model_names(names: Sequence[str]) -> list[str]:
    """Each model once: a model listed twice would run twice and be compared with itself."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"model {name!r} is listed twice; list each model once")
        seen.add(name)
    return list(names)


def parse_model_option(values: Sequence[str]) -> tuple[str, ...]:
    """``--model a,b`` (repeatable, ``--model a --model b``) as the models in order.

    Raises ``ValueError`` with the reason for an empty part (``a,,b``), a padded name or a
    model named twice.
    """
    names: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                raise ValueError(f"{value!r}: an empty model name (write --model a,b)")
            names.append(check_model_name(part))
    return tuple(check_model_names(names))


def model_slug(model: str) -> str:
    """The model in a file name: letters, digits, ``.``, ``_`` and ``-`` kept, the rest ``-``."""
    return _UNSAFE.sub("-", model).strip("-") or "model"
