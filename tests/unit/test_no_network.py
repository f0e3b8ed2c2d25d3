"""The unit suite's network guard is on: a test that reached for the network would fail loudly."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError

pytestmark = pytest.mark.unit


def test_tcp_connect_is_refused_in_unit_tests() -> None:
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)


def test_unix_socketpair_still_works() -> None:
    """multiprocessing and asyncio need socketpairs; the guard must leave them alone."""
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"ok")
        assert b.recv(2) == b"ok"
