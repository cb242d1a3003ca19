"""Loaded at interpreter start (via PYTHONPATH) by tests that prove nothing goes online:
every IPv4/IPv6 connection, datagram and host-name lookup attempted from Python is refused
and recorded in $NETGUARD_LOG.

The first line it writes is ``loaded PID``: a log without it means this guard never ran (a
wrong PYTHONPATH, another sitecustomize found first), and the tests then fail instead of
reading "no attempts". This sees Python's ``socket`` only; native libraries are covered by
the syscall trace in ``tests/test_network_isolation.py``."""

import os
import socket

_log = os.environ.get("NETGUARD_LOG")
_INET = (socket.AF_INET, socket.AF_INET6)
_LOCAL = (None, "localhost", "127.0.0.1", "::1")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto
_real_sendmsg = socket.socket.sendmsg
_real_getaddrinfo = socket.getaddrinfo


def _record(what: str) -> None:
    if _log:
        with open(_log, "a") as f:
            f.write(what + "\n")


def _guard(self, address):  # type: ignore[no-untyped-def]
    if self.family in _INET:
        _record(f"connect {address!r}")
        raise OSError("network disabled by tests/netguard")
    return _real_connect(self, address)


def _guard_ex(self, address):  # type: ignore[no-untyped-def]
    if self.family in _INET:
        _record(f"connect_ex {address!r}")
        return 101  # ENETUNREACH
    return _real_connect_ex(self, address)


def _guard_sendto(self, data, *args):  # type: ignore[no-untyped-def]
    if self.family in _INET:
        _record(f"sendto {args[-1]!r}")
        raise OSError("network disabled by tests/netguard")
    return _real_sendto(self, data, *args)


def _guard_sendmsg(self, buffers, *args):  # type: ignore[no-untyped-def]
    if self.family in _INET:
        _record(f"sendmsg {args[2] if len(args) > 2 else None!r}")
        raise OSError("network disabled by tests/netguard")
    return _real_sendmsg(self, buffers, *args)


def _gai(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host not in _LOCAL:
        _record(f"getaddrinfo {host!r}")
        raise socket.gaierror("network disabled by tests/netguard")
    return _real_getaddrinfo(host, *args, **kwargs)


def _lookup(name: str, real, *, local_ok: bool = True):  # type: ignore[no-untyped-def]
    def refuse(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if local_ok and host in _LOCAL:
            return real(host, *args, **kwargs)
        _record(f"{name} {host!r}")
        raise socket.gaierror("network disabled by tests/netguard")

    return refuse


_record(f"loaded {os.getpid()}")
socket.socket.connect = _guard  # type: ignore[method-assign]
socket.socket.connect_ex = _guard_ex  # type: ignore[method-assign]
socket.socket.sendto = _guard_sendto  # type: ignore[method-assign]
socket.socket.sendmsg = _guard_sendmsg  # type: ignore[method-assign]
socket.getaddrinfo = _gai
socket.gethostbyname = _lookup("gethostbyname", socket.gethostbyname)
socket.gethostbyname_ex = _lookup("gethostbyname_ex", socket.gethostbyname_ex)
socket.gethostbyaddr = _lookup("gethostbyaddr", socket.gethostbyaddr, local_ok=False)  # reverse: asks a name server
