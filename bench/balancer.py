"""deploy/nginx.conf, the load balancer compose runs, in front of API processes on this
machine: for the load-balancer tests and `python -m bench.overload --balancer`.

The shipped file is used as it is but for what only compose has: the replicas are local
ports instead of Docker's DNS name, nginx listens on 127.0.0.1, and a caller may change the
per-replica bound (`max_conns`) or the body read timeout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.load import start, stop

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
_REPLICAS = re.compile(r"^(\s*)server api:8000 resolve([^;]*);[^\n]*$", re.MULTILINE)
_MAX_CONNS = re.compile(r"\s*max_conns=\d+")


def shipped_max_conns() -> int | None:
    """The bound on requests nginx passes to one replica at once, as compose ships it."""
    match = re.search(r"max_conns=(\d+)", _REPLICAS.search(CONFIG.read_text()).group(2))
    return int(match.group(1)) if match else None


def local_config(
    folder: Path,
    port: int,
    replicas: list[int],
    *,
    max_conns: int | None = None,
    body_timeout_s: int | None = None,
) -> Path:
    """deploy/nginx.conf for local replicas, written to `folder`; `max_conns` 0 lifts the
    per-replica bound, None keeps the shipped one."""
    text = CONFIG.read_text()
    match = _REPLICAS.search(text)
    if match is None:
        raise ValueError(f"{CONFIG} names no 'server api:8000 resolve ...;' line")
    indent, parameters = match.group(1), match.group(2)
    if max_conns is not None:
        parameters = _MAX_CONNS.sub("", parameters)
        parameters += f" max_conns={max_conns}" if max_conns else ""
    servers = "\n".join(f"{indent}server 127.0.0.1:{replica}{parameters};" for replica in replicas)
    text = text[: match.start()] + servers + text[match.end() :]
    text = re.sub(r"\n\s*resolver [^\n]*", "", text)
    text = text.replace("listen 8000;", f"listen 127.0.0.1:{port};")
    if body_timeout_s is not None:
        text = re.sub(r"client_body_timeout \d+s;", f"client_body_timeout {body_timeout_s}s;", text)
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


@contextmanager
def running(folder: Path, port: int, replicas: list[int], **overrides) -> Iterator[str]:
    """A real nginx on 127.0.0.1:`port` in front of `replicas` (which must be ready); yields
    its base URL once it passes /readyz on. `overrides` go to `local_config`."""
    config = local_config(folder, port, replicas, **overrides)
    directives = f"daemon off; pid {folder / 'nginx.pid'}; error_log stderr;"
    command = [NGINX, "-c", str(config), "-g", directives]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refused {config}: {checked.stderr}")
    base = f"http://127.0.0.1:{port}"
    nginx, _started_in = start(command, {}, base, folder / "nginx.log")
    try:
        yield base
    finally:
        stop(nginx)
