"""The worker's log forwarder, as a real process fed real lines."""

from __future__ import annotations

import json
import subprocess
import sys


def test_json_lines_pass_and_others_become_json_records():
    lines = [
        '{"time": "t", "level": "INFO", "logger": "x", "message": "already json"}',
        "I0000 00:00:1796235196.593910   11951 port.cc:153] oneDNN custom operations are on.",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "",
        "worker: Warm shutdown (MainProcess)",
        "{not json",
        "caf\xe9 \ufffd",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "worker.log_pipe"],
        input="\n".join(lines).encode("utf-8") + b"\n\xff\n",
        capture_output=True,
        timeout=30,
        check=True,
    )
    out = done.stdout.decode().splitlines()
    assert out[0] == lines[0]  # unchanged, byte for byte
    records = [json.loads(line) for line in out[1:]]
    assert [(r["logger"], r["level"]) for r in records] == [
        ("stderr", "INFO"),
        ("stderr", "INFO"),
        ("stderr", "WARNING"),
        ("stderr", "WARNING"),
        ("stderr", "WARNING"),
        ("stderr", "WARNING"),
    ]
    assert [r["message"] for r in records[:5]] == [*lines[1:3], *lines[4:7]]
    assert records[5]["message"] == "\ufffd"  # undecodable bytes do not stop the pipe
