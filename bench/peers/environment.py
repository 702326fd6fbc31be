"""The peers' own virtual environment, made once from `requirements.txt`.

The peers never enter the serving install: their dependencies (Ray alone brings some
hundred packages) would pin and upgrade what handcalc serves with. The environment is
remade when `requirements.txt` changes (its digest is kept beside it).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
DEFAULT_VENV = ROOT / "var" / "peers-venv"
_STAMP = "requirements.sha256"


def ensure_environment(venv: Path = DEFAULT_VENV) -> Path:
    """The folder of a virtual environment with the peers installed (made if needed)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = venv / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    print(f"making the peers' environment in {venv} (once; about a minute)", flush=True)
    subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(digest + "\n")
    return venv


def _base_python() -> str:
    """The interpreter this one's virtual environment was made from (or this one)."""
    return getattr(sys, "_base_executable", None) or sys.executable
