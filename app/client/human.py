"""The API's answers as lines for people (the CLI's default output)."""

from __future__ import annotations

from collections.abc import Iterator

from app.client.results import (
    ArithmeticResult,
    Classification,
    Comparison,
    Job,
    ModelInfo,
    NumberReading,
    Reading,
)

OPERATORS = {"add": "+", "multiply": "*"}


def probability(value: float) -> str:
    return f"p={value:.3g}"


def classification(label: str, answer: Classification) -> str:
    return f"{label}: {answer.digit} ({answer.confidence:.1%})  {answer.model}"


def reading(label: str, answer: Reading) -> str:
    return f"{label}: {answer.value} ({probability(answer.confidence)})  {answer.model}"


def _operand(number: NumberReading | None, label: str) -> str:
    """The number as read, or the file's name when a head answered without reading it."""
    return number.value if number is not None else label


def arithmetic(operation: str, labels: tuple[str, str], answer: ArithmeticResult) -> str:
    a, b = _operand(answer.a, labels[0]), _operand(answer.b, labels[1])
    return (
        f"{a} {OPERATORS[operation]} {b} = {answer.result_text} "
        f"({probability(answer.confidence)})  {answer.model}"
    )


def comparison(labels: tuple[str, str], answer: Comparison) -> str:
    a, b = _operand(answer.a, labels[0]), _operand(answer.b, labels[1])
    equal = "" if answer.equal_probability is None else f", equal {answer.equal_probability:.3g}"
    verdict = "yes" if answer.result else "no"
    return f"{a} > {b}: {verdict} ({probability(answer.probability)}{equal})  {answer.model}"


def _metrics(metrics: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4g}" for name, value in metrics.items())


def job(answer: Job) -> str:
    progress = answer.progress
    line = f"job {answer.id} ({answer.model}): {answer.state}"
    if progress.get("epochs"):
        line += f", epoch {progress.get('epoch', 0)}/{progress['epochs']}"
        line += f" ({progress.get('fraction', 0.0):.0%})"
    if answer.metrics:
        line += f"  {_metrics(answer.metrics)}"
    if answer.result:
        line += f"\n  published {answer.result.get('model')} v{answer.result.get('version')}"
        line += " (active)" if answer.result.get("activated") else " (not activated)"
    if answer.error:
        line += f"\n  {answer.error}"
    return line


def jobs(answers: list[Job]) -> Iterator[str]:
    yield f"{'id':<32}  {'model':<18} {'state':<10} {'epoch':>7}  submitted"
    for answer in answers:
        progress = answer.progress
        epoch = f"{progress.get('epoch', 0)}/{progress.get('epochs', '?')}"
        line = f"{answer.id:<32}  {answer.model:<18} {answer.state:<10} {epoch:>7}"
        yield f"{line}  {answer.submitted}"


def models(answers: list[ModelInfo]) -> Iterator[str]:
    """One line a version: * marks the active one, > the one this API serves."""
    yield f"{'model':<18} {'kind':<12} {'version':>7}  {'':<2}  metrics   (* active, > served)"
    for info in answers:
        for version in info.versions:
            flags = ("*" if version.version == info.active else " ") + (
                ">" if version.version == info.serving else " "
            )
            line = f"{info.name:<18} {info.kind or '?':<12} {version.version:>7}  {flags:<2}"
            yield f"{line}  {_metrics(version.metrics)}"


def activated(answer: ModelInfo) -> str:
    line = f"{answer.name}: version {answer.active} is active"
    if answer.serving != answer.active:
        line += f" (the API serves {answer.serving} until it picks it up, within seconds)"
    return line
