"""The `handcalc` commands that talk to a real uvicorn API: lines for people, or its JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from app.cli import main
from app.client import Client
from app.client.commands import token_for
from tests.app.conftest import LIVE_TOKEN
from tests.helpers import free_port, image_bytes


@pytest.fixture()
def files(digits, tmp_path, monkeypatch):
    """The first four test digits as PNG files in the working folder, and their labels."""
    images, labels = digits
    monkeypatch.chdir(tmp_path)
    paths = []
    for index in range(4):
        path = f"digit-{index}.png"
        (tmp_path / path).write_bytes(image_bytes(images[index]))
        paths.append(path)
    return paths, labels[:4]


def run(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_prints_a_line_per_file_or_the_apis_json(live_api, files, capsys):
    base = live_api[0]
    paths, labels = files
    code, out, _ = run(capsys, "classify", *paths, "--url", base)
    assert code == 0
    with Client(base) as client:
        answers = [client.classify(path) for path in paths]
    lines = out.splitlines()
    assert len(lines) == 4
    for path, line, answer in zip(paths, lines, answers, strict=True):
        assert re.fullmatch(rf"{path}: {answer.digit} \(\d+\.\d%\)  classifier v1", line), line
    assert [a.digit for a in answers] == list(labels)
    code, out, _ = run(capsys, "classify", paths[0], "--url", base, "--json")
    assert code == 0 and json.loads(out) == answers[0].to_json()
    code, out, _ = run(capsys, "classify", *paths[:2], "--url", base, "--json")
    assert json.loads(out) == [answer.to_json() for answer in answers[:2]]


def test_arithmetic_and_read(live_api, files, capsys):
    base = live_api[0]
    paths, labels = files
    code, out, _ = run(capsys, "add", paths[0], paths[1], "--url", base, "--model", "reader")
    total = labels[0] + labels[1]
    assert code == 0
    assert re.fullmatch(rf"{labels[0]} \+ {labels[1]} = {total} \(p=[\d.e-]+\)  reader v1\n", out)
    code, out, _ = run(capsys, "multiply", paths[0], paths[1], "--url", base, "--json")
    with Client(base) as client:
        assert json.loads(out) == client.multiply(paths[0], paths[1]).to_json()
    code, out, _ = run(capsys, "compare", paths[0], paths[1], "--url", base, "--model", "reader")
    verdict = "yes" if labels[0] > labels[1] else "no"
    assert out.startswith(f"{labels[0]} > {labels[1]}: {verdict} (p=")
    code, out, _ = run(capsys, "read", paths[2], "--url", base)
    assert code == 0 and out.startswith(f"digit-2.png: {labels[2]} (p=")


def test_errors_go_to_stderr_with_the_apis_detail(live_api, files, capsys, tmp_path):
    base = live_api[0]
    code, out, err = run(capsys, "classify", files[0][0], "--url", base, "--model", "nope")
    assert code == 1 and out == ""
    assert err.startswith("error: no model named 'nope'; the models that answer /classify")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, _, err = run(capsys, "read", str(notes), "--url", base)
    assert code == 1 and "(notes.txt): the uploaded file is not an image" in err
    code, _, err = run(capsys, "classify", str(tmp_path / "missing.png"), "--url", base)
    assert code == 1 and "No such file" in err
    code, _, err = run(capsys, "models", "activate", "classifier", "1", "--url", base)
    assert code == 1 and err.startswith("error: missing token")
    nowhere = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, "classify", files[0][0], "--url", nowhere)
    assert code == 2 and err.startswith(f"error: cannot reach the handcalc API at {nowhere}")


def test_models_from_the_api_or_the_local_store(live_api, capsys, monkeypatch):
    base, store = live_api
    code, out, _ = run(capsys, "models", "list", "--url", base)
    assert code == 0
    assert re.search(r"^classifier +classifier +1  \*> +test_accuracy 0\.\d+$", out, re.M), out
    code, out, _ = run(capsys, "models", "list", "--url", base, "--json")
    with Client(base) as client:
        assert json.loads(out) == [info.to_json() for info in client.models()]
    monkeypatch.setenv("HANDCALC_ARTIFACT_ROOT", str(store))
    code, out, _ = run(capsys, "models", "list", "--store")
    assert code == 0 and re.search(r"^classifier +classifier +1  \*", out, re.M)
    code, out, _ = run(capsys, "models", "activate", "classifier", "1", "--url", base,
                       "--token", LIVE_TOKEN)  # fmt: skip
    assert code == 0 and out.startswith("classifier: version 1 is active")
    code, _, err = run(capsys, "models", "delete", "classifier", "1", "--url", base,
                       "--token", LIVE_TOKEN)  # fmt: skip
    assert code == 1 and "active version" in err


def test_jobs_submit_list_watch_and_cancel(live_api, capsys, monkeypatch):
    base = live_api[0]
    monkeypatch.setenv("HANDCALC_URL", base)
    monkeypatch.setenv("HANDCALC_API_TOKEN", LIVE_TOKEN)
    code, out, _ = run(capsys, "jobs", "submit", "classifier", "--set", "epochs=2",
                       "--set", "architecture=dense", "--no-activate")  # fmt: skip
    job_id = out.strip()
    assert code == 0 and re.fullmatch(r"[0-9a-f]{32}", job_id)
    with Client() as client:
        spec = client.job(job_id).spec
    assert spec["params"]["epochs"] == 2 and spec["params"]["architecture"] == "dense"
    assert spec["activate"] is False
    code, out, _ = run(capsys, "jobs", "list")
    assert re.search(rf"^{job_id}  classifier +queued +0/2", out, re.M)
    code, out, err = run(capsys, "jobs", "watch", job_id, "--timeout", "0.3")
    assert code == 1 and out == f"job {job_id} (classifier): queued, epoch 0/2 (0%)\n"
    assert err == f"error: job {job_id} is still queued after 0.3 s\n"
    code, out, _ = run(capsys, "jobs", "cancel", job_id, "--json")
    assert code == 0 and json.loads(out)["state"] == "cancelled"
    code, _, err = run(capsys, "jobs", "cancel", job_id)
    assert code == 1 and err == f"error: job {job_id} already cancelled; nothing to cancel\n"
    code, _, err = run(capsys, "jobs", "submit", "classifier", "--set", "epochs=0")
    assert code == 1 and "params.epochs" in err


def test_the_installed_command_in_a_process(live_api, files):
    """`python -m app.cli` as a user runs it, with the URL from the environment."""
    environment = {**os.environ, "HANDCALC_URL": live_api[0]}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "classify", files[0][0]],
        capture_output=True, text=True, env=environment, timeout=60, cwd=os.getcwd(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"digit-0.png: {files[1][0]} (")


def test_a_local_api_gets_the_token_handcalc_run_keeps(tmp_path, monkeypatch):
    monkeypatch.delenv("HANDCALC_API_TOKEN", raising=False)
    monkeypatch.setenv("HANDCALC_STATE_DIR", str(tmp_path))
    (tmp_path / "api-token").write_text("kept-token\n")
    assert token_for("http://127.0.0.1:8000", None) == "kept-token"
    assert token_for("http://localhost:9000", "given") == "given"
    assert token_for("https://handcalc.example.com", None) is None  # never sent elsewhere
