"""schemathesis, every check, against the live OpenAPI schema of a real uvicorn server: no
5xx, no response that breaks the schema, no status code the schema does not list."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import api_process

CONFIG = Path(__file__).with_name("schemathesis.toml")
TOKEN = "schemathesis-token-0123456789"


@pytest.fixture()
def live_server(trained_root, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(trained_root, store)  # it activates and deletes versions
    environment = {
        "HANDCALC_ARTIFACT_ROOT": str(store),
        "HANDCALC_STATE_DIR": str(tmp_path / "state"),
        "HANDCALC_API_TOKEN": TOKEN,
    }
    with api_process(tmp_path, environment, "--no-access-log") as server:
        yield server


def test_schemathesis_finds_nothing(live_server, tmp_path):
    base, log = live_server
    # every check runs unless schemathesis.toml turns it off (one, with its reason)
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file", str(CONFIG),
        "run", f"{base}/openapi.json",
        "--header", f"Authorization: Bearer {TOKEN}",
        "--max-examples", "25",
        "--seed", "20261202",
        "--no-color",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report + "\n--- server log ---\n" + log.read_text()[-3000:]
    assert "Internal Server Error" not in log.read_text()
