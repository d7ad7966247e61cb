"""The llama.cpp build options chosen from a CPU's flags, and the wheel cache keyed by them."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from rag import cpu

AVX2_LAPTOP = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
ZEN4 = AVX2_LAPTOP | {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512vbmi", "avx512_vnni",
                      "avx512_bf16", "avx_vnni"}  # fmt: skip
SAPPHIRE_RAPIDS = ZEN4 | {"amx_tile", "amx_int8", "amx_bf16"}


def options(flags: set[str]) -> dict[str, str]:
    return dict(a.removeprefix("-D").split("=") for a in cpu.cmake_args(flags))


def test_avx2_only_cpu_gets_no_avx512_kernels() -> None:
    got = options(AVX2_LAPTOP)
    assert got["GGML_AVX2"] == "ON" and got["GGML_FMA"] == "ON"
    assert got["GGML_AVX512"] == "OFF" and got["GGML_AVX512_VNNI"] == "OFF"


def test_avx512_cpu_gets_avx512_kernels() -> None:
    got = options(ZEN4)
    for option in ("GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16"):
        assert got[option] == "ON"


def test_amx_and_native_stay_off_even_on_an_amx_xeon() -> None:
    got = options(SAPPHIRE_RAPIDS)
    assert got["GGML_AVX512"] == "ON"
    for option in ("GGML_NATIVE", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"):
        assert got[option] == "OFF"


def test_partial_avx512_is_not_enough() -> None:
    # Xeon Phi style: AVX512F without BW/VL cannot run llama.cpp's AVX512 path.
    assert options(AVX2_LAPTOP | {"avx512f"})["GGML_AVX512"] == "OFF"


def test_unreadable_flags_fall_back_to_avx2() -> None:
    got = options(set())
    assert got["GGML_AVX2"] == "ON" and got["GGML_AVX512"] == "OFF"


def test_flags_are_read_from_cpuinfo_text() -> None:
    text = "processor\t: 0\nflags\t\t: fpu avx avx2 avx512f\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    assert cpu.cpu_flags(text) == {"fpu", "avx", "avx2", "avx512f"}


def test_wheel_cache_is_keyed_by_the_options(tmp_path: Path) -> None:
    a = cpu.wheel_dir(cpu.cmake_args(AVX2_LAPTOP), tmp_path)
    b = cpu.wheel_dir(cpu.cmake_args(ZEN4), tmp_path)
    assert a != b and a.parent == b.parent == tmp_path / "wheels"
    assert a == cpu.wheel_dir(cpu.cmake_args(AVX2_LAPTOP), tmp_path)


def test_requirement_pins_the_version_that_is_built() -> None:
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert f"llama-cpp-python=={cpu.LLAMA_VERSION}" in project["project"]["dependencies"]


def test_a_busy_loop_elsewhere_counts_as_a_busy_core() -> None:
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # started and runnable
        assert cpu.busy_elsewhere() >= 1
    finally:
        hog.kill()
        hog.wait()


def test_thread_state_is_read_after_the_name(tmp_path: Path) -> None:
    # A thread name may hold ") S" itself; the state is the field after the last ")".
    stat = tmp_path / "stat"
    stat.write_text("4242 (odd) S name) R 1 4242 4242 0 -1")
    assert cpu._running(stat)
    stat.write_text("4242 (python3) S 1 4242 4242 0 -1")
    assert not cpu._running(stat)


def test_a_wheel_is_built_once_per_options_with_those_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for pip: records its CMAKE_ARGS and writes a wheel where -w points.
    log = tmp_path / "calls.txt"
    pip = tmp_path / "pip"
    pip.write_text(
        "#!/bin/sh\n"
        f'echo "$CMAKE_ARGS" >> {log}\n'
        'while [ "$1" != "-w" ]; do shift; done\n'
        'touch "$2/llama_cpp_python-0.0-py3-none-linux_x86_64.whl"\n'
    )
    pip.chmod(0o755)
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    laptop, zen4 = cpu.cmake_args(AVX2_LAPTOP), cpu.cmake_args(ZEN4)
    first = cpu.wheel(str(pip), laptop)
    assert cpu.wheel(str(pip), laptop) == first  # from the cache: pip not run again
    other = cpu.wheel(str(pip), zen4)
    assert other.parent != first.parent
    assert log.read_text().splitlines() == [" ".join(laptop), " ".join(zen4)]
