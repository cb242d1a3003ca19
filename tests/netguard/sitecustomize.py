"""Loaded at interpreter start (via PYTHONPATH) by tests that prove nothing goes online:
every IPv4/IPv6 connection attempt is refused and recorded in $NETGUARD_LOG."""

import os
import socket

_log = os.environ.get("NETGUARD_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _record(what: str) -> None:
    if _log:
        with open(_log, "a") as f:
            f.write(what + "\n")


def _guard(self, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record(f"connect {address!r}")
        raise OSError("network disabled by tests/netguard")
    return _real_connect(self, address)


def _guard_ex(self, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record(f"connect_ex {address!r}")
        return 101  # ENETUNREACH
    return _real_connect_ex(self, address)


def _gai(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host not in (None, "localhost", "127.0.0.1", "::1"):
        _record(f"getaddrinfo {host!r}")
        raise socket.gaierror("network disabled by tests/netguard")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guard  # type: ignore[method-assign]
socket.socket.connect_ex = _guard_ex  # type: ignore[method-assign]
socket.getaddrinfo = _gai
