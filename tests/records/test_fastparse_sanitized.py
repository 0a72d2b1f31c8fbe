"""The C tokenizer under AddressSanitizer and UndefinedBehaviorSanitizer: both builds (SSE2 and
VPC_NO_SIMD) compiled by gcc with -fsanitize=address,undefined, then run in a process of their own
through test_fastparse.py and the edge cases of tests/records/sanitized_kernel.py (which explains
how every buffer is made to end where its contents end). Any report fails the test."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.records import sanitized_kernel
from vpcflow.records import fastparse

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(fastparse.__file__).with_name("_tokenizer.c")


def libasan() -> str:
    """gcc's AddressSanitizer runtime, to preload (python itself is not built with it); skips the
    test where gcc or its libasan is missing."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: the sanitized builds need it")
    found = subprocess.run(
        ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True
    ).stdout.strip()
    if not os.path.isabs(found) or not os.path.exists(found):
        pytest.skip("gcc has no libasan (e.g. Debian's libasan8 / gcc's libsanitizer is not installed)")
    return found


def run_sanitized(kernel: Path, asan: str, work: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "LD_PRELOAD": asan,
        "ASAN_OPTIONS": "detect_leaks=0",
        "UBSAN_OPTIONS": "print_stacktrace=1",
        "SANITIZED_KERNEL_INPUT": str(work / "input.bin"),
    }
    command = [sys.executable, "-m", "tests.records.sanitized_kernel", str(kernel)]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, errors="replace", timeout=600
    )


MARKS = ("ERROR: AddressSanitizer", "runtime error")  # how ASan's and UBSan's reports begin


def sanitizer_failures(done: subprocess.CompletedProcess, work: Path) -> str:
    """What went wrong in the sanitized run ('' if nothing): a report, or a failed test."""
    err = done.stderr
    at = min((err.find(mark) for mark in MARKS if mark in err), default=-1)
    if done.returncode == 0 and at < 0:
        return ""
    found = f"exit status {done.returncode}\n--- stdout (end)\n{done.stdout[-5000:]}\n"
    if at >= 0:  # the report's first lines (its stacks run long), then how the run ended
        start = err.rfind("\n", 0, at) + 1
        found += f"--- the sanitizer's report\n{err[start : start + 6000]}\n--- stderr (end)\n{err[-3000:]}\n"
    else:
        found += f"--- stderr (end)\n{err[-8000:]}\n"
    block = work / "input.bin"
    if block.exists():
        data = block.read_bytes()
        found += f"--- the block the kernel was reading ({len(data)} bytes, in {block}):\n{data[:3000]!r}\n"
    return found


@pytest.mark.parametrize("scalar", [False, True], ids=["sse2", "scalar"])
def test_the_tokenizer_under_address_and_undefined_behaviour_sanitizers(scalar, tmp_path):
    asan = libasan()  # skips before building where the sanitizers are missing
    kernel = sanitized_kernel.build(SOURCE, tmp_path, scalar=scalar)
    done = run_sanitized(kernel, asan, tmp_path)
    failures = sanitizer_failures(done, tmp_path)
    assert not failures, failures
    # the workload really went through this build (not the installed extension), and not a little
    calls = re.search(r"sanitized_kernel: (\d+) kernel calls to (\S+)", done.stdout)
    assert calls and calls[2] == str(kernel), done.stdout[-2000:]
    assert int(calls[1]) > 100_000
