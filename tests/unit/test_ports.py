"""The loopback ports the suite hands its servers: never one an outgoing connection can take."""

from __future__ import annotations

import socket
from pathlib import Path

from testkit.processes import free_port, free_temporal_port


def _ephemeral() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_ports_are_distinct_below_the_ephemeral_range_and_can_be_listened_on() -> None:
    low, _ = _ephemeral()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(port < low for port in ports)
    listeners = []
    try:
        for port in ports:
            listener = socket.socket()
            listener.bind(("127.0.0.1", port))
            listener.listen()
            listeners.append(listener)
    finally:
        for listener in listeners:
            listener.close()


def test_a_port_something_listens_on_is_never_handed_out() -> None:
    taken = []
    try:
        # Every port of a stretch of this process's band is taken; none of them comes back.
        first = free_port()
        for port in range(first, first + 200):
            listener = socket.socket()
            try:
                listener.bind(("127.0.0.1", port))
            except OSError:
                listener.close()
                continue
            listener.listen()
            taken.append(listener)
        handed = {free_port() for _ in range(300)}
        assert not handed & {listener.getsockname()[1] for listener in taken}
    finally:
        for listener in taken:
            listener.close()


def test_a_temporal_port_has_its_ui_port_free_as_well() -> None:
    low, _ = _ephemeral()
    port = free_temporal_port()
    assert port + 1000 < low
    for each in (port, port + 1000):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", each))
