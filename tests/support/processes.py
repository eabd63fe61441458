"""The process tree, read from /proc: for tests that kill processes and check nothing outlives them."""

from __future__ import annotations

import os
from pathlib import Path


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone since the listing
        # The command name may hold spaces and parentheses; the fields after its last ')' do not.
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), fields[0])
    return table


def running(pids: set[int]) -> set[int]:
    """Those of ``pids`` still alive (zombies count as gone: they run nothing)."""
    table = process_table()
    return {p for p in pids if p in table and table[p][1] != "Z"}


def children(pid: int) -> set[int]:
    """The live children of ``pid``."""
    return {p for p, (ppid, state) in process_table().items() if ppid == pid and state != "Z"}


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, zombies included (they still hold their pid)."""
    table = process_table()
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        below = {p for p, (ppid, _) in table.items() if ppid == parent and p not in found}
        found |= below
        frontier.extend(below)
    return found


def command_line(pid: int) -> list[str]:
    """The arguments ``pid`` was started with; empty once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError):
        return []
