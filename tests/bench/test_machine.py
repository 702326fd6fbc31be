"""The benchmarks' description of the machine and of how they were started."""

from __future__ import annotations

import os

from bench.machine import describe, matmul_gflops
from bench.quality import command_line


def test_description_names_cores_vector_extension_and_measured_speed():
    name, cores, extension, speed = describe().rsplit(", ", 3)
    assert name
    assert cores == f"{os.cpu_count()} cores"
    assert extension in {"AVX-512", "AVX2", "AVX", "NEON", os.uname().machine}
    gflops, unit = speed.split(" ", 1)
    assert unit == "GFLOPS float32 matmul"
    assert float(gflops) > 0


def test_matmul_speed_is_a_plausible_figure_for_a_cpu():
    # at least one core's worth of scalar arithmetic, below any CPU's peak
    assert 1.0 < matmul_gflops(size=256, seconds=0.2) < 100_000.0


def test_the_quality_benchmark_records_how_it_was_started():
    assert command_line([]) == "make bench-quality"
    assert command_line(["--root", "/tmp/store"]) == "python -m bench.quality --root /tmp/store"
