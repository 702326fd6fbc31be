"""The benchmarks' description of the machine and of how they were started."""

from __future__ import annotations

import os
import platform

import pytest

from bench.machine import CPUINFO, cpu_details, describe, matmul_gflops
from bench.quality import command_line

ZEN4 = """processor\t: 0
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw
processor\t: 1
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw
"""
SAPPHIRE_RAPIDS = ZEN4.replace("AMD EPYC 9R14", "Intel(R) Xeon(R) Platinum 8488C").replace(
    "avx512bw", "avx512bw amx_tile amx_bf16"
)


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        (ZEN4, ("AMD EPYC 9R14", "AVX-512")),
        (ZEN4.replace(" avx512f avx512bw", ""), ("AMD EPYC 9R14", "AVX2")),
        (
            SAPPHIRE_RAPIDS,
            ("Intel(R) Xeon(R) Platinum 8488C", "AVX-512 and AMX"),
        ),
        ("processor\t: 0\nFeatures\t: fp asimd crc32\n", (platform.machine(), "NEON")),
        ("", (platform.machine(), platform.machine())),
    ],
)
def test_cpu_name_and_widest_vector_extension_come_from_cpuinfo(cpuinfo, expected):
    assert cpu_details(cpuinfo) == expected


def test_description_of_this_machine():
    name, cores, extension, speed = describe().rsplit(", ", 3)
    assert (name, extension) == cpu_details(CPUINFO.read_text())
    assert cores == f"{os.cpu_count()} cores"
    gflops, unit = speed.split(" ", 1)
    assert unit == "GFLOPS float32 matmul"
    # at least one core's worth of scalar arithmetic, below any CPU's peak: catches a
    # figure off by a factor of a thousand (seconds taken for milliseconds, FLOPS for GFLOPS)
    assert 1.0 < float(gflops) < 100_000.0
    assert 1.0 < matmul_gflops(size=256, seconds=0.2) < 100_000.0


def test_the_quality_benchmark_records_how_it_was_started():
    assert command_line([]) == "make bench-quality"
    assert command_line(["--root", "/tmp/store"]) == "python -m bench.quality --root /tmp/store"
