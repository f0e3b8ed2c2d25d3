"""Unit tests run with the network switched off: any TCP/UDP socket is an error (AWS is moto in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import aws_xray_sdk.core  # noqa: F401 - its UDP emitter opens a socket at import: import it before the guard
import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    # Unix sockets stay allowed: multiprocessing and asyncio use socketpairs internally.
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()
