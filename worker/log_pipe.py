"""With JSON logs, every line a worker writes is JSON, including those written past logging.

TensorFlow's native code logs straight to file descriptor 2 ("I0000 ... oneDNN custom
operations are on"), LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate", and
Celery writes its shutdown notices with `os.write`. `start()` points the worker's stdout and
stderr (which its pool processes inherit) at a pipe read by a small process of its own,
`python -m worker.log_pipe`, which passes JSON lines on unchanged and makes any other line
a JSON record of logger `stderr`. Being a separate process, it drains the pipe even while
the worker is stuck or dying, and ends once every process writing to it has ended.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from typing import BinaryIO

from models.logs import JsonFormatter

LOGGER = "stderr"
_PREFIXES = {
    "INFO: ": logging.INFO,
    "WARNING: ": logging.WARNING,
    "ERROR: ": logging.ERROR,
    "I0000": logging.INFO,  # absl's format: I0000 00:00:1796235196.593910  11951 port.cc:153]
    "W0000": logging.WARNING,
    "E0000": logging.ERROR,
    "F0000": logging.CRITICAL,
}


def start() -> None:
    """From now on, this process's stdout and stderr (and its children's) go through the
    forwarder to where stderr went."""
    read, write = os.pipe()
    destination = os.dup(2)
    command = [sys.executable, "-m", "worker.log_pipe"]
    subprocess.Popen(command, stdin=read, stdout=destination, stderr=destination)
    os.close(read)
    os.close(destination)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.dup2(write, 1)
    os.dup2(write, 2)
    os.close(write)


def as_json(line: str, formatter: logging.Formatter) -> str | None:
    """The line itself when it is a JSON object; else a JSON record holding it (its level
    read from a prefix such as `WARNING: ` or absl's `W0000`); None for a blank line."""
    if not line.strip():
        return None
    if line.startswith("{"):
        try:
            if isinstance(json.loads(line), dict):
                return line
        except ValueError:
            pass
    level = next((lvl for prefix, lvl in _PREFIXES.items() if line.startswith(prefix)), None)
    record = logging.LogRecord(LOGGER, level or logging.WARNING, "", 0, line, None, None)
    return formatter.format(record)


def forward(lines: BinaryIO, out: BinaryIO) -> None:
    formatter = JsonFormatter()
    for raw in lines:
        line = as_json(raw.decode("utf-8", "replace").rstrip("\r\n"), formatter)
        if line is not None:
            out.write(line.encode() + b"\n")
            out.flush()


if __name__ == "__main__":
    # Ctrl-C and SIGTERM reach the worker's whole process group: the forwarder stays to
    # pass on the worker's last lines, and leaves when the pipe closes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    forward(sys.stdin.buffer, sys.stdout.buffer)
