"""The peer benchmark's goals, checked on one run, and its tables in Markdown."""

from __future__ import annotations

BATCH_IMAGES = 256
FASTER_AT = (8, 32, 128)


def _at(rows: list[dict], concurrency: int) -> dict | None:
    return next((row for row in rows if row["concurrency"] == concurrency), None)


def _goal(name: str, value: str, target: str, met: bool) -> dict:
    return {"goal": name, "value": value, "target": target, "met": met}


def best_peer(report: dict, route: str, concurrency: int) -> tuple[str, dict] | None:
    """The peer with the most requests/s at that cell, and its row."""
    rows = [
        (name, row)
        for name, result in report["servers"].items()
        if result["peer"] and (row := _at(result["routes"].get(route, []), concurrency))
    ]
    return max(rows, key=lambda item: item[1]["rps"], default=None)


def check_goals(report: dict) -> list[dict]:
    """handcalc's goals against the best peer of this run (empty without handcalc)."""
    ours = report["servers"].get("handcalc")
    if ours is None:
        return []
    classify, goals = ours["routes"]["classify"], []
    for concurrency in FASTER_AT:
        row, best = _at(classify, concurrency), best_peer(report, "classify", concurrency)
        if row and best:
            name, theirs = best
            times = row["rps"] / theirs["rps"]
            goals.append(_goal(
                f"/classify c={concurrency}: requests/s against the best peer ({name})",
                f"{times:.2f}x", ">= 2x", times >= 2,
            ))  # fmt: skip
            goals.append(_goal(
                f"/classify c={concurrency}: p99 against {name}'s",
                f"{row['p99_ms']:.1f} ms vs {theirs['p99_ms']:.1f} ms", "lower",
                row["p99_ms"] < theirs["p99_ms"],
            ))  # fmt: skip
    single, best = _at(classify, 1), best_peer(report, "classify", 1)
    if single:
        goals.append(_goal("/classify c=1: p50", f"{single['p50_ms']:.2f} ms", "<= 1.0 ms",
                           single["p50_ms"] <= 1.0))  # fmt: skip
    if single and best:
        times = single["rps"] / best[1]["rps"]
        goals.append(_goal(f"/classify c=1: requests/s against the best peer ({best[0]})",
                           f"{times:.2f}x", ">= 1.3x", times >= 1.3))  # fmt: skip
    sampled, add = _at(classify, 32), _at(ours["routes"].get("add", []), 32)
    if sampled and add:
        share = add["rps"] / sampled["rps"]
        goals.append(_goal("/add c=32 against /classify c=32", f"{share:.0%}", ">= 80%",
                           share >= 0.8))  # fmt: skip
    if sampled and ours.get("batch_256"):
        images = max(row["rps"] for row in ours["batch_256"]) * BATCH_IMAGES
        times = images / sampled["rps"]
        goals.append(_goal(
            f"/classify of {BATCH_IMAGES} PNGs: images/s against single images at c=32",
            f"{images:,.0f} img/s, {times:.1f}x", ">= 2x", times >= 2,
        ))  # fmt: skip
    memory = ours["rss_after_load_mb"]
    goals.append(_goal("memory of all API processes after the run", f"{memory:.0f} MB",
                       "<= 300 MB", memory <= 300))  # fmt: skip
    cold = max(ours["cold_starts_s"])
    goals.append(_goal("cold start to the first right answer (slowest start)", f"{cold} s",
                       "<= 2 s", cold <= 2))  # fmt: skip
    return goals


def _cell(row: dict | None) -> str:
    if row is None:
        return ""
    text = f"{row['rps']:,.0f} ({row['p99_ms']:.1f})"
    if row.get("sampled_rps"):
        text += " med. of " + "/".join(f"{rps:,.0f}" for rps in row["sampled_rps"])
    return text + (f", {row['errors']} errors" if row["errors"] else "")


def markdown(report: dict) -> str:
    names = list(report["servers"])
    levels = sorted({row["concurrency"] for result in report["servers"].values()
                     for row in result["routes"].get("classify", [])})  # fmt: skip
    lines = [
        f"Machine: {report['machine']}. Command: `{report['command']}`. "
        f"{report['duration_s']} s per cell; c=32 is the median of {report['samples']} "
        "fresh starts in rotated order. Cells: requests/s (p99 ms).",
    ]
    for route in ("classify", "add"):
        header = " | ".join(f"c={level}" for level in levels)
        lines += ["", f"/{route}:", "", f"| server | {header} | cold start | memory |",
                  "|---|" + "---|" * (len(levels) + 2)]  # fmt: skip
        for name in names:
            result = report["servers"][name]
            cells = " | ".join(_cell(_at(result["routes"].get(route, []), c)) for c in levels)
            lines.append(
                f"| {result['describe']} | {cells} | {result['cold_start_s']} s | "
                f"{result['rss_after_load_mb']:.0f} MB |"
            )
    if report.get("goals"):
        lines += ["", "Goals:", "", "| goal | value | target | met |", "|---|---|---|---|"]
        for row in report["goals"]:
            met = "yes" if row["met"] else "no"
            lines.append(f"| {row['goal']} | {row['value']} | {row['target']} | {met} |")
    return "\n".join(lines) + "\n"
