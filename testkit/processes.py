"""Loopback ports and process trees, for the tests and the benchmark that run ``tocsin up``
and other servers as real processes."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports are handed out below the kernel's ephemeral range. A port the kernel picked for
# bind(0) is free only until the next outgoing connection takes it as its source port, and the
# suite makes thousands of loopback connections: under load, a server told to listen on such a
# port found it taken ("port(s) already in use"). Below the range, only a listener can take a
# port; each xdist worker draws from a band of its own, so two workers never pick the same one.
_LOWEST = 10_000
_BANDS = 8
_handed: set[int] = set()


def _band() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) % _BANDS if worker.isdigit() else 0
    width = (_ephemeral_start() - _LOWEST) // _BANDS
    return range(_LOWEST + index * width, _LOWEST + (index + 1) * width)


def free_port(spare_above: int = 0) -> int:
    """A loopback port where nothing listens (and, with ``spare_above``, none at that port
    plus ``spare_above`` either), never handed out before by this process."""
    whole = _band()
    band = range(whole.start, whole.stop - spare_above)
    # A random start: a child process of the same worker (the benchmark) draws from the same
    # band without knowing what its parent handed out.
    offset = random.randrange(len(band))
    for step in range(len(band)):
        port = band[(offset + step) % len(band)]
        if port in _handed or not is_free(port):
            continue
        if spare_above and (port + spare_above in _handed or not is_free(port + spare_above)):
            continue
        _handed.add(port)
        if spare_above:
            _handed.add(port + spare_above)
        return port
    raise RuntimeError(f"no free loopback port in {band.start}-{band.stop - 1}")


def is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_temporal_port() -> int:
    """A port P with P + 1000 (the Temporal UI) free as well."""
    return free_port(spare_above=1000)


def descendants(root: int) -> dict[int, str]:
    """Every process under ``root``, with its command line."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields after it do not.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                cmdline = b""
            found[child] = cmdline.decode(errors="replace")
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def listening(port: int) -> bool:
    """Something accepts connections on this loopback port."""
    with socket.socket() as conn:
        return conn.connect_ex(("127.0.0.1", port)) == 0


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
