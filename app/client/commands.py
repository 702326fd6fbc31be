"""The `handcalc` commands that talk to a running API through the client.

    handcalc classify FILE...            handcalc read FILE
    handcalc add|multiply|compare A B
    handcalc jobs submit MODEL [--set KEY=VALUE]... [--watch] | watch ID | cancel ID | list
    handcalc models [list [--store]] | activate NAME VERSION | delete NAME VERSION

Each takes --url (else $HANDCALC_URL, else http://127.0.0.1:8000), --token (else
$HANDCALC_API_TOKEN, else for a local API the token `handcalc run` keeps in
$HANDCALC_STATE_DIR/api-token) and --json (the API's JSON instead of lines for people).
An error from the API is printed to stderr with exit status 1; no API at all, status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.client import human
from app.client.clients import DEFAULT_URL, TOKEN_VARIABLE, URL_VARIABLE, Client
from app.client.errors import ApiError, Unreachable
from app.client.results import Answer

Handler = Callable[[Client, argparse.Namespace], int]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TOKEN_FILE = "api-token"


def token_for(url: str, given: str | None) -> str | None:
    """--token, else $HANDCALC_API_TOKEN, else (only for an API on this machine) the token
    file that `handcalc run` writes."""
    token = given or os.environ.get(TOKEN_VARIABLE)
    if token or urlsplit(url).hostname not in LOCAL_HOSTS:
        return token
    path = Path(os.environ.get("HANDCALC_STATE_DIR", "var")) / TOKEN_FILE
    return path.read_text().strip() if path.is_file() else None


def _print_json(value: Answer | list[Answer]) -> None:
    data = [item.to_json() for item in value] if isinstance(value, list) else value.to_json()
    print(json.dumps(data))


def _show(arguments: argparse.Namespace, value: Answer | list[Answer], lines: Iterable[str]):
    if arguments.json:
        _print_json(value)
    else:
        for line in lines:
            print(line)


def _run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """The command with a client, and every failure a line on stderr and an exit status."""

    def command(arguments: argparse.Namespace) -> int:
        url = arguments.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
        try:
            with Client(url, token_for(url, arguments.token)) as client:
                return handler(client, arguments)
        except ApiError as error:
            print(f"error: {error.detail}", file=sys.stderr)
            return 1
        except Unreachable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # Ctrl-C while watching a job: the job itself goes on
            print("interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # whatever read the output stopped (e.g. `| head`)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except (OSError, TimeoutError) as error:  # an unreadable file; a job still running
            print(f"error: {error}", file=sys.stderr)
            return 1

    return command


def classify(client: Client, arguments: argparse.Namespace) -> int:
    files = arguments.files
    if len(files) == 1:
        answers = [client.classify(files[0], model=arguments.model)]
    else:
        answers = client.classify_many(files, model=arguments.model)
    value = answers[0] if len(files) == 1 else answers
    lines = (human.classification(f, a) for f, a in zip(files, answers, strict=True))
    _show(arguments, value, lines)
    return 0


def read(client: Client, arguments: argparse.Namespace) -> int:
    answer = client.read(arguments.file, model=arguments.model)
    _show(arguments, answer, [human.reading(arguments.file, answer)])
    return 0


def arithmetic(client: Client, arguments: argparse.Namespace) -> int:
    operation = arguments.command
    route = getattr(client, operation)
    answer = route(arguments.a, arguments.b, model=arguments.model)
    labels = (arguments.a, arguments.b)
    if operation == "compare":
        line = human.comparison(labels, answer)
    else:
        line = human.arithmetic(operation, labels, answer)
    _show(arguments, answer, [line])
    return 0


def _watch(client: Client, job_id: str, arguments: argparse.Namespace) -> int:
    def report(job: Any) -> None:
        if not arguments.json:
            print(human.job(job), flush=True)

    job = client.wait(job_id, on_progress=report, timeout=arguments.timeout)
    if arguments.json:
        _print_json(job)
    return 0 if job.state == "succeeded" else 1


def _assignments(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"error: --set takes KEY=VALUE, not {pair!r}")
        key, text = pair.split("=", 1)
        try:
            params[key] = json.loads(text)  # numbers, true/false, null, lists
        except json.JSONDecodeError:
            params[key] = text  # a bare word such as dense
    return params


def jobs_submit(client: Client, arguments: argparse.Namespace) -> int:
    accepted = client.submit(
        arguments.model,
        kind=arguments.kind,
        params=_assignments(arguments.set),
        activate=not arguments.no_activate,
        encoder_version=arguments.encoder_version,
        reader_version=arguments.reader_version,
    )
    if arguments.watch:
        if not arguments.json:
            print(f"submitted job {accepted.id}", flush=True)
        return _watch(client, accepted.id, arguments)
    _show(arguments, accepted, [accepted.id])
    return 0


def jobs_watch(client: Client, arguments: argparse.Namespace) -> int:
    return _watch(client, arguments.id, arguments)


def jobs_cancel(client: Client, arguments: argparse.Namespace) -> int:
    job = client.cancel(arguments.id)
    _show(arguments, job, [human.job(job)])
    return 0


def jobs_list(client: Client, arguments: argparse.Namespace) -> int:
    listed = client.jobs(limit=arguments.limit)
    _show(arguments, listed, human.jobs(listed))
    return 0


def models_list(client: Client, arguments: argparse.Namespace) -> int:
    listed = client.models()
    _show(arguments, listed, human.models(listed))
    return 0


def models_activate(client: Client, arguments: argparse.Namespace) -> int:
    info = client.activate(arguments.name, arguments.version)
    _show(arguments, info, [human.activated(info)])
    return 0


def models_delete(client: Client, arguments: argparse.Namespace) -> int:
    client.delete(arguments.name, arguments.version)
    if not arguments.json:
        print(f"deleted {arguments.name} v{arguments.version}")
    return 0


def _connection() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--url", help=f"the API (default ${URL_VARIABLE}, else {DEFAULT_URL})")
    options.add_argument("--token", help=f"the API token (default ${TOKEN_VARIABLE})")
    options.add_argument("--json", action="store_true", help="print the API's JSON")
    return options


def add_commands(
    commands: argparse._SubParsersAction, list_store: Callable[[argparse.Namespace], int]
) -> None:
    """Register the client's commands; `list_store` lists the local artifact store
    (`handcalc models list --store`)."""
    connection = _connection()

    def command(name: str, handler: Handler, help: str, under=commands):
        parser = under.add_parser(name, parents=[connection], help=help, description=help)
        parser.set_defaults(handler=_run(handler))
        return parser

    def model_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--model", help="the registered name to answer with")

    model_option(command("classify", classify, "which digit is in each image"))
    commands.choices["classify"].add_argument("files", nargs="+", metavar="FILE")
    parser = command("read", read, "the number in an image")
    parser.add_argument("file", metavar="FILE")
    model_option(parser)
    for name, help in (
        ("add", "the sum of the numbers in two images"),
        ("multiply", "the product of the numbers in two images"),
        ("compare", "whether the number in A is greater than the one in B"),
    ):
        parser = command(name, arithmetic, help)
        parser.add_argument("a", metavar="A")
        parser.add_argument("b", metavar="B")
        model_option(parser)

    jobs = commands.add_parser("jobs", help="training jobs (need the token)").add_subparsers(
        dest="jobs_command", required=True
    )
    submit = command("submit", jobs_submit, "train a new version of MODEL", jobs)
    submit.add_argument("model", metavar="MODEL")
    submit.add_argument("--kind", help="what a new name is (e.g. classifier, vae)")
    submit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    submit.add_argument("--no-activate", action="store_true", help="publish without activating")
    submit.add_argument("--encoder-version", type=int)
    submit.add_argument("--reader-version", type=int)
    submit.add_argument("--watch", action="store_true", help="follow it until it ends")
    watch = command("watch", jobs_watch, "follow a job until it ends", jobs)
    watch.add_argument("id", metavar="ID")
    for parser in (submit, watch):
        parser.add_argument("--timeout", type=float, help="give up after this many seconds")
    command("cancel", jobs_cancel, "cancel a job", jobs).add_argument("id", metavar="ID")
    listing = command("list", jobs_list, "recent jobs, newest first", jobs)
    listing.add_argument("--limit", type=int, default=20)

    models = commands.add_parser("models", help="the registered models")
    models.set_defaults(handler=_run(models_list), url=None, token=None, json=False)
    managed = models.add_subparsers(dest="models_command")
    listing = command("list", models_list, "every model version the API knows", managed)
    listing.add_argument(
        "--store", action="store_true", help="list the local artifact store instead of the API"
    )
    for name, handler, help in (
        ("activate", models_activate, "make VERSION the active one (promote or roll back)"),
        ("delete", models_delete, "delete a version neither active nor in a lineage"),
    ):
        parser = command(name, handler, help, managed)
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("version", type=int, metavar="VERSION")

    api_listing = listing.get_default("handler")

    def list_either(arguments: argparse.Namespace) -> int:
        return list_store(arguments) if arguments.store else api_listing(arguments)

    listing.set_defaults(handler=list_either)
