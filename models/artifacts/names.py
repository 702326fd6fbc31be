"""Registered model names: what the store, the API, the CLI and job specs accept.

No TensorFlow here.
"""

from __future__ import annotations

import re

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
_NAME = re.compile(NAME_PATTERN)
NAME_RULE = "1 to 40 lowercase letters, digits or hyphens, not starting with a hyphen"


class InvalidModelName(ValueError):
    """A registered model name that breaks the naming rule."""


def is_valid_name(name: object) -> bool:
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check_name(name: object) -> str:
    """`name` if it follows the rule; `InvalidModelName` saying what the rule is otherwise."""
    if not is_valid_name(name):
        raise InvalidModelName(f"invalid model name {name!r}: use {NAME_RULE}")
    return name  # type: ignore[return-value]
