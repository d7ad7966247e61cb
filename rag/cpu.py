"""The llama.cpp build for this CPU: which instruction sets to compile in, and a wheel cache
keyed by them.

Owns: reading the CPU's flags (/proc/cpuinfo), turning them into llama.cpp CMake options, and
building/installing llama-cpp-python from a wheel cache whose folder name carries a hash of the
version and the options, so a wheel built for one CPU is never installed on another (pip's own
cache keys wheels by name and version only). Also reports which kernels a loaded build uses.
Leaves loading models and threads to generation.py.

Standard library only: the Makefile runs it before the package's dependencies are installed.

    python -m rag.cpu cmake-args     # the options for this CPU
    python -m rag.cpu install PIP    # build (once per options) and install into PIP's venv
    python -m rag.cpu kernels        # what the installed build uses (llama_print_system_info)
    python -m rag.cpu busy           # cores other processes keep busy now (threads per answer)

Why explicit options and not `-march=native` (GGML_NATIVE=ON): native turns on the AMX kernels
on AMX-capable Xeons, and those crashed (SIGSEGV in ggml_backend_amx_mul_mat) on our VMs. Here
AMX stays off everywhere while AVX-512, VNNI and BF16 are used where the CPU has them. Why not
llama.cpp's runtime dispatch (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS): llama-cpp-python never
calls ggml_backend_load_all, its Sapphire Rapids variant carries the same AMX kernels, and it
compiles the CPU backend about eight times over.

Also owns how many cores other processes keep busy right now, which sets the threads of each
answer (generation.py).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from rag.models import cache_dir  # standard library only, like this module

LLAMA_VERSION = "0.3.36"

# (cpuinfo flag(s), CMake option): the option is ON only when the CPU has every flag listed.
OPTIONS = (
    (("avx",), "GGML_AVX"),
    (("avx2",), "GGML_AVX2"),
    (("fma",), "GGML_FMA"),
    (("f16c",), "GGML_F16C"),
    (("bmi2",), "GGML_BMI2"),
    (("avx_vnni",), "GGML_AVX_VNNI"),
    # llama.cpp's AVX512 path needs the F, BW, DQ and VL subsets (Skylake-X and later, Zen 4).
    (("avx512f", "avx512bw", "avx512dq", "avx512vl"), "GGML_AVX512"),
    (("avx512vbmi",), "GGML_AVX512_VBMI"),
    (("avx512_vnni",), "GGML_AVX512_VNNI"),
    (("avx512_bf16",), "GGML_AVX512_BF16"),
)
ALWAYS_OFF = ("GGML_NATIVE", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The instruction-set flags of the first CPU listed (all cores of a machine match)."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return set()  # not Linux: the portable AVX2 options below still apply
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def cmake_args(flags: set[str] | None = None) -> list[str]:
    """CMake options for llama.cpp on a CPU with these flags. Without readable flags (macOS,
    containers hiding /proc) it falls back to the AVX2 set every x86-64 laptop since 2015 has."""
    if flags is None:
        flags = cpu_flags()
    if not flags:
        flags = {"avx", "avx2", "fma", "f16c", "bmi2"}
    args = [f"-D{option}=OFF" for option in ALWAYS_OFF]
    for needed, option in OPTIONS:
        args.append(f"-D{option}={'ON' if all(f in flags for f in needed) else 'OFF'}")
    return args


def wheel_dir(args: list[str], cache: Path | None = None) -> Path:
    """One folder per (version, options): a wheel is only ever reused for the same options."""
    key = hashlib.sha256(" ".join([LLAMA_VERSION, *args]).encode()).hexdigest()[:12]
    return (cache or cache_dir()) / "wheels" / f"llama-cpp-python-{LLAMA_VERSION}-{key}"


def wheel(pip: str, args: list[str]) -> Path:
    """The llama-cpp-python wheel for these options, built into the keyed cache unless there."""
    folder = wheel_dir(args)
    wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    if not wheels:
        print(f"building llama-cpp-python {LLAMA_VERSION} (about 4 minutes on 2 cores)")
        print("  " + " ".join(args))
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CMAKE_ARGS": " ".join(args)}
        # --no-cache-dir: pip's own cache would hand back a wheel built with other options.
        command = [pip, "wheel", "--no-deps", "--no-cache-dir", "-w", str(folder)]
        subprocess.run([*command, f"llama-cpp-python=={LLAMA_VERSION}"], env=env, check=True)
        wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
        (folder / "cmake-args.txt").write_text(" ".join(args) + "\n", encoding="utf-8")
    return wheels[-1]


def install(pip: str, args: list[str] | None = None) -> Path:
    """Build llama-cpp-python for these options unless the keyed cache has it; install it."""
    built = wheel(pip, args if args is not None else _requested_args())
    subprocess.run([pip, "install", "--force-reinstall", "--no-deps", str(built)], check=True)
    return built


def _requested_args() -> list[str]:
    """CMAKE_ARGS from the environment win (a user's own build); otherwise this CPU's."""
    given = os.environ.get("CMAKE_ARGS", "").split()
    return given or cmake_args()


def kernels() -> str:
    """What the installed llama.cpp build uses, e.g. 'AVX2 = 1 | AVX512 = 1 | ...'."""
    import llama_cpp

    info: str = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    parts = (part.rpartition(":")[2].strip() for part in info.split("|"))  # "CPU : SSE3 = 1"
    return " | ".join(part for part in parts if part.endswith("= 1"))


def busy_elsewhere(samples: int = 5) -> int:
    """Cores that other processes keep busy right now: the threads running system-wide
    (/proc/loadavg) less this process's own, the fewest over a few samples ~2 ms apart, so a
    passing blip does not count and a busy loop, an indexing run or a second model does.
    0 where /proc is not there."""
    fewest: int | None = None
    for i in range(samples):
        try:
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
            own = sum(_running(stat) for stat in Path("/proc/self/task").glob("*/stat"))
        except (OSError, ValueError, IndexError):
            return 0
        others = max(0, running - own)
        fewest = others if fewest is None else min(fewest, others)
        if i + 1 < samples:
            time.sleep(0.002)
    return fewest or 0


def _running(stat: Path) -> bool:
    try:  # "pid (name) S ...": the state follows the last ")"; a thread may end meanwhile
        return stat.read_text().rpartition(")")[2].split()[0] == "R"
    except (OSError, IndexError):
        return False


def main(argv: list[str]) -> int:
    if argv[:1] == ["cmake-args"]:
        print(" ".join(_requested_args()))
    elif argv[:1] == ["install"] and len(argv) == 2:
        install(argv[1])
    elif argv[:1] == ["kernels"]:
        print(kernels())
    elif argv[:1] == ["busy"]:
        print(busy_elsewhere())
    else:
        print("usage: python -m rag.cpu cmake-args | install PIP | kernels | busy", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
