"""Where a benchmark leaves its figures: `<stem>.json` and `<stem>.md` in the results folder."""

from __future__ import annotations

import json
from pathlib import Path


def write_report(results: str | Path, stem: str, report: dict, table: str) -> None:
    """Write the report as JSON and its table as Markdown, then print the table."""
    folder = Path(results)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (folder / f"{stem}.md").write_text(table)
    print(table)
