"""Benchmarks that print their figures with the machine and the command (see the README)."""

from __future__ import annotations

import os
from pathlib import Path

STARTER = Path(__file__).resolve().parent.parent / "starter"


def store_root(asked: str | None = None) -> str:
    """The artifact store a serving benchmark reads: the one asked for with `--root`, else
    `HANDCALC_ARTIFACT_ROOT`, else the shipped starters."""
    return asked or os.environ.get("HANDCALC_ARTIFACT_ROOT") or str(STARTER)
