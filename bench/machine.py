"""What a benchmark ran on, in words that make timings from two machines comparable.

Machines that all call themselves a "2-core AMD EPYC" have trained the same
autoencoder at about 29 and at 80 to 150 seconds an epoch here (the slow one reports
AVX2 only). So besides the CPU's name the description gives its widest vector
extension and a measured figure: how fast two 1024x1024 float32 matrices multiply on
every core (numpy's BLAS).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

CPUINFO = Path("/proc/cpuinfo")
# widest first: the flag Linux reports for each extension, and its usual name
EXTENSIONS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("asimd", "NEON"))


def cpu_details(cpuinfo: str) -> tuple[str, str]:
    """The CPU's name and widest vector extension (and AMX), from the text of /proc/cpuinfo.

    Either falls back to the architecture (`platform.machine()`) when not listed.
    """
    name, flags = "", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not name:
            name = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    extension = next((label for flag, label in EXTENSIONS if flag in flags), "")
    if "amx_bf16" in flags:  # bfloat16 matrix tiles: what mixed-precision training runs on
        extension += " and AMX"
    return name or platform.machine(), extension or platform.machine()


def matmul_gflops(size: int = 1024, seconds: float = 1.0) -> float:
    """float32 matrix products per second, in GFLOPS: the best of repeated timed runs."""
    generator = np.random.default_rng(0)
    a = generator.random((size, size), dtype=np.float32)
    b = generator.random((size, size), dtype=np.float32)
    a @ b  # warm up the BLAS threads
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def describe() -> str:
    """For example 'AMD EPYC, 2 cores, AVX2, 183 GFLOPS float32 matmul'."""
    name, extension = cpu_details(CPUINFO.read_text() if CPUINFO.exists() else "")
    return (
        f"{name}, {os.cpu_count()} cores, {extension}, {matmul_gflops():.0f} GFLOPS float32 matmul"
    )
