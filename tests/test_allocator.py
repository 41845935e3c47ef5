"""whisperd.allocator: memory freed inside glibc's arenas goes back to the OS.

Run in a fresh interpreter so that nothing else in the test session shares the
heap. 200 MB is allocated in 100 KB blocks (below the mmap threshold: from the
heap), written so that it is resident, then freed except for the last block, which
pins the top of the heap: glibc's own automatic trim cannot give any of it back.
``release_free_memory`` must.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim exists only in glibc; on other C libraries release_free_memory "
           "does nothing by design")

_PROBE = r"""
import ctypes, json, os
from whisperd.allocator import release_free_memory
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
page = os.sysconf("SC_PAGE_SIZE")
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20
size = 100 * 1024
blocks = [libc.malloc(size) for _ in range(2000)]
for b in blocks:
    ctypes.memset(b, 1, size)
for b in blocks[:-1]:
    libc.free(b)
before = rss_mb()
released = release_free_memory()
print(json.dumps({"before": before, "after": rss_mb(), "released": released}))
"""


def test_freed_heap_memory_is_returned_to_the_os() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True,
                         text=True)
    figures = json.loads(out.stdout)
    assert figures["released"] is True
    assert figures["before"] - figures["after"] > 150  # of the ~200 MB freed
