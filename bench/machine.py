"""What a benchmark ran on, in words that make timings from two machines comparable.

Machines that all call themselves a "2-core AMD EPYC" have trained the same
autoencoder at 28 and at 80 seconds an epoch here (the slow one reports AVX2 only).
So besides the CPU's name the description gives its widest vector extension and a
measured figure: how fast two 1024x1024 float32 matrices multiply on every core
(numpy's BLAS).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

CPUINFO = Path("/proc/cpuinfo")


def cpu_name() -> str:
    if CPUINFO.exists():
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def vector_extension() -> str:
    """The widest SIMD extension the CPU reports, such as 'AVX-512' or 'AVX2'."""
    if not CPUINFO.exists():
        return platform.machine()
    flags: set[str] = set()
    for line in CPUINFO.read_text().splitlines():
        if line.startswith(("flags", "Features")):
            flags = set(line.split(":", 1)[1].split())
            break
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("asimd", "NEON")):
        if flag in flags:
            return name
    return platform.machine()


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
    """For example 'AMD EPYC, 2 cores, AVX2, 150 GFLOPS float32 matmul'."""
    return (
        f"{cpu_name()}, {os.cpu_count()} cores, {vector_extension()}, "
        f"{matmul_gflops():.0f} GFLOPS float32 matmul"
    )
