"""glibc tuning (whisperd.allocator): large buffers keep their own mappings.

Checked in a fresh interpreter each time, because mallopt changes the process for
good. With glibc's default, a freed 4 MiB buffer raises the mmap threshold, so the
next one comes from the heap (where a threaded server's arenas fragment); after
``release_large_buffers`` it is mapped on its own and unmapped when freed.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")

_PROBE = r"""
import ctypes, json, sys
libc = ctypes.CDLL("libc.so.6")
class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "tuned":
    from whisperd.allocator import release_large_buffers
    assert release_large_buffers()
size = 4 * 1024 * 1024
first = libc.malloc(size); libc.free(first)  # the default raises its threshold here
before = libc.mallinfo2().hblks
second = libc.malloc(size)
mapped = libc.mallinfo2().hblks - before
libc.free(second)
print(json.dumps({"mapped": mapped}))
"""


def _probe(mode: str, env: dict[str, str] | None = None) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], check=True, capture_output=True,
                         text=True, env=env or _clean_env())
    return json.loads(out.stdout)["mapped"]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}


def test_large_buffers_are_mapped_on_their_own_after_tuning() -> None:
    assert _probe("default") == 0  # glibc's dynamic threshold: from the heap
    assert _probe("tuned") == 1


def test_an_operators_malloc_variable_wins() -> None:
    env = _clean_env() | {"MALLOC_MMAP_THRESHOLD_": str(64 * 1024 * 1024)}
    code = ("from whisperd.allocator import release_large_buffers as r; "
            "print(r())")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=env)
    assert out.stdout.strip() == "False"
