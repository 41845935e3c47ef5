"""Resident memory of a process tree, read from Linux's /proc.

VmHWM is the peak resident set size. Writing "5" to /proc/PID/clear_refs resets it
(Linux 4.0+, same user), which lets one process measure the peak of each stage of a
benchmark separately instead of the lifetime peak that getrusage reports. A served
app runs in a child of the started process (gunicorn's worker), so another process
is measured with its whole tree; this process alone (its children, such as a
server it started, are not its own work).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)

PROC = Path("/proc")


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _measured(pid: int | None) -> list[int]:
    if pid is None or pid == os.getpid():
        return [os.getpid()]
    return tree(pid)


def peak_rss_bytes(pid: int | None = None) -> int:
    """Summed peak RSS (VmHWM) of ``pid``'s tree, or of this process alone (default)."""
    return sum(_status_kib(p, "VmHWM") for p in _measured(pid)) * 1024


def rss_bytes(pid: int | None = None) -> int:
    """Summed current RSS (VmRSS) of ``pid``'s tree, or of this process alone (default)."""
    return sum(_status_kib(p, "VmRSS") for p in _measured(pid)) * 1024


def reset_peak(pid: int | None = None) -> bool:
    """Reset VmHWM of every measured process; False where the kernel refuses."""
    ok = True
    for p in _measured(pid):
        try:
            (PROC / str(p) / "clear_refs").write_text("5")
        except OSError as e:
            logger.warning("cannot reset peak RSS of pid %d: %s", p, e)
            ok = False
    return ok
