"""No packets, proven at the system level (issue 15, finding 1).

``run``, ``batch``, ``export``, ``purge --dry-run`` and ``check`` are run as a user runs them
(the installed console script, real models, a tiny generated call) inside a network
namespace with no interfaces up (``unshare --net``), under two guards:

- ``strace -f`` (kernel level: every process and thread, Python or native, and nothing in
  user space can go around a syscall): zero ``connect``/``sendto``/``sendmsg``/``sendmmsg``
  to anything but loopback or a local Unix socket, none to port 53 even on loopback, none to
  a resolver's socket, and no opening of ``/etc/resolv.conf`` or ``/etc/hosts``;
- ``tests/netguard/lookupguard.c`` preloaded (``LD_PRELOAD``, compiled here with ``cc``):
  zero host-name lookups through the C library. The trace alone cannot tell a lookup sent
  to nscd from a user lookup sent to the same socket; the shim can.

Each guard proves it was there, or the test fails: the trace must hold the command's
``execve`` and the opening of its input file, and the shim must log ``loaded PID`` for that
very process. The empty namespace is checked too. ``unshare``, ``strace`` and ``cc`` come
from ``make system-deps``: if one is missing the test fails, it never skips.

The environment given to the commands says ``ORT_DISABLE_TELEMETRY=0`` and
``HF_HUB_OFFLINE=0``: the library must force its offline switches, not merely default them.
HOME is a fresh folder, so onnxruntime's telemetry store (``~/.cache/Microsoft/...``) would
show if it were written.

Cost on 2 shared cores (measured): 67-76 s for the module, of which run 27-31 s, batch
29-38 s, check 5-9 s, export and purge under 1 s each, everything else under 1 s.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.corpus import RecordingPaths, generate
from tests.conftest import ROOT

SHIM_SOURCE = ROOT / "tests" / "netguard" / "lookupguard.c"
SYSCALLS = "execve,open,openat,connect,sendto,sendmsg,sendmmsg"
SENDS = ("connect", "sendto", "sendmsg", "sendmmsg")
# Files the C library reads to look a host name up (a hosts-file or DNS lookup).
LOOKUP_FILES = ("/etc/resolv.conf", "/etc/hosts")
# Unix sockets that answer host-name lookups only (nscd also answers user lookups: the shim
# covers it).
RESOLVER_SOCKETS = ("/run/systemd/resolve/", "/var/run/systemd/resolve/", "io.systemd.Resolve")
CLI = Path(sys.executable).parent / "anonymizer"
# Whoever runs the tests (root under sudo: SUDO_USER is dropped) is an admin: export copies.
ADMIN = '[users.{user}]\nrole = "admin"\n\n'


def unshare_net() -> list[str]:
    """An empty network namespace: root's own, or (not root) inside a user namespace."""
    return [tool("unshare"), "--net", *([] if os.geteuid() == 0 else ["--map-root-user"]), "--"]


def tool(name: str) -> str:
    """A required system tool: missing means the test fails (``make system-deps``)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: `make system-deps` installs it (the network test needs it and never skips)"
    return path


# --------------------------------------------------------------------------- trace analysis

_LINE = re.compile(r"^(\d+) +(?:<\.\.\. )?(\w+)\(")
_SOCKADDR = re.compile(r"\{sa_family=(AF_\w+)(.*?)\}")
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
_ADDR4 = re.compile(r'inet_addr\("([^"]+)"\)')
_ADDR6 = re.compile(r'inet_pton\(AF_INET6, "([^"]+)"')
_SUN = re.compile(r'sun_path=@?"([^"]*)"')


def _is_loopback(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _bad_sockaddr(family: str, rest: str) -> str | None:
    """Why this destination is not allowed, or None (loopback not on port 53, a local Unix
    socket that is not a resolver's, the kernel's netlink)."""
    if family in ("AF_UNIX", "AF_LOCAL"):
        m = _SUN.search(rest)
        path = m.group(1) if m else ""
        return "a host-name resolver's socket" if any(s in path for s in RESOLVER_SOCKETS) else None
    if family in ("AF_NETLINK", "AF_UNSPEC"):
        return None  # the kernel itself; AF_UNSPEC only dissolves a datagram socket's peer
    if family in ("AF_INET", "AF_INET6"):
        port = _PORT.search(rest)
        addr = (_ADDR4 if family == "AF_INET" else _ADDR6).search(rest)
        if port is None or addr is None:
            return "an address strace could not decode"
        if int(port.group(1)) == 53:
            return "DNS (port 53)"
        return None if _is_loopback(addr.group(1)) else "not loopback"
    return f"socket family {family}"


def network_findings(trace: str) -> list[str]:
    """Trace lines (``strace -f`` output) that reached for the network or a name lookup."""
    found = []
    for line in trace.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        call = m.group(2)
        if call in SENDS:
            for family, rest in _SOCKADDR.findall(line):
                why = _bad_sockaddr(family, rest)
                if why:
                    found.append(f"{why}: {line}")
        elif call in ("open", "openat") and any(f'"{f}"' in line for f in LOOKUP_FILES):
            found.append(f"name lookup (reads {line.split(chr(34))[1]}): {line}")
        elif call in ("open", "openat") and "DeveloperTools/.onnxruntime" in line:
            found.append(f"onnxruntime telemetry store: {line}")
    return found


def shim_lookups(log: str) -> list[str]:
    return [line for line in log.splitlines() if not line.startswith("loaded ")]


# --------------------------------------------------------------------------- running guarded

@dataclass
class Traced:
    name: str
    proc: subprocess.CompletedProcess[str]
    trace: str
    shim_log: str
    seconds: float

    def why(self) -> str:
        return f"{self.name}: exit {self.proc.returncode}\n{self.proc.stdout[-1500:]}\n{self.proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lookupguard") / "lookupguard.so"
    proc = subprocess.run([tool("cc"), "-shared", "-fPIC", "-O1", "-Wall", "-o", str(out), str(SHIM_SOURCE), "-ldl"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def guarded(name: str, argv: list[str], *, work: Path, shim: Path, env: dict[str, str], timeout: float = 600) -> Traced:
    """``argv`` in an empty network namespace, traced by strace, with the lookup shim."""
    trace, shim_log = work / f"{name}.strace", work / f"{name}.lookups"
    cmd = [*unshare_net(), tool("strace"), "-f", "-qq", "-e", f"trace={SYSCALLS}", "-e", "signal=none",
           "-E", f"LD_PRELOAD={shim}", "-E", f"LOOKUPGUARD_LOG={shim_log}", "-o", str(trace), *argv]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=work)
    seconds = time.perf_counter() - t0
    return Traced(name, proc, trace.read_text() if trace.exists() else "", shim_log.read_text() if shim_log.exists() else "",
                  seconds)


def assert_guards_ran(t: Traced, argv: list[str], opened: Path) -> None:
    """The trace holds this command's execve and the opening of ``opened``; the shim logged
    'loaded' from that same process. Otherwise the absence of findings proves nothing."""
    execs = re.findall(rf'^(\d+) +execve\("{re.escape(argv[0])}", \[(.*?)\].*= 0$', t.trace, re.M)
    assert execs, f"{t.name}: no execve of {argv[0]} in the trace: strace did not watch the command"
    pid, args = execs[0]
    assert f'"{argv[1]}"' in args, f"{t.name}: the traced execve is not this command: {args}"
    assert re.search(rf'^\d+ +openat?\((?:AT_FDCWD, )?"{re.escape(str(opened))}", .*\) = \d+$', t.trace, re.M), \
        f"{t.name}: the trace never shows {opened} opened: the guard did not see the work"
    assert f"loaded {pid} " in t.shim_log, f"{t.name}: the lookup shim did not load in pid {pid}: {t.shim_log[:300]!r}"


def assert_offline(t: Traced) -> None:
    found = network_findings(t.trace)
    assert found == [], f"{t.name}: {len(found)} network or lookup syscall(s):\n" + "\n".join(found[:15])
    lookups = shim_lookups(t.shim_log)
    assert lookups == [], f"{t.name}: host-name lookups: {lookups[:15]}"


# --------------------------------------------------------------------------- the five commands

@dataclass
class Deployment:
    sample: RecordingPaths
    policy: Path
    work: Path
    home: Path
    output: Path
    runs: dict[str, tuple[list[str], Path, Traced]]


def _write(path: Path, data: str | bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def _env(home: Path, policy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "NETGUARD", "LOOKUPGUARD")) and k not in ("PYTHONPATH", "SUDO_USER", "LD_PRELOAD")}
    # Values a user could leave behind: the library must force them back (anonymizer/__init__.py).
    env.update(HOME=str(home), ANONYMIZER_POLICY=str(policy), ORT_DISABLE_TELEMETRY="0", HF_HUB_OFFLINE="0",
               HF_HUB_DISABLE_TELEMETRY="0")
    return env


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, shim: Path) -> Deployment:
    import pwd

    base = tmp_path_factory.mktemp("offline")
    sample = generate(base / "calls", width=320, height=180, duration_s=2.0, lang="en", seed=3)
    etc = base / "etc"
    etc.mkdir(mode=0o755)
    etc.chmod(0o755)
    users = sorted({pwd.getpwuid(os.getuid()).pw_name, "root"})
    access = _write(etc / "access.toml", "".join(ADMIN.format(user=u) for u in users) + '[agents.E96804]\nteam = "A"\n')
    key = _write(etc / "report.key", os.urandom(32), 0o600)
    (base / "var").mkdir()
    policy = _write(etc / "policy.toml", f'[policy]\naudit_log = "{base / "var" / "audit.jsonl"}"\n'
                                         f'access_file = "{access}"\nreport_key_file = "{key}"\n')
    home, work = base / "home", base / "work"
    home.mkdir()
    work.mkdir()
    out, inbox, outbox, dest = base / "out", base / "inbox", base / "outbox", base / "export"
    for d in (out, inbox, dest):
        d.mkdir()
    for src in (sample.video, sample.sidecar):
        shutil.copy2(src, inbox / src.name)
        past = time.time() - 3600  # settled: the batch defers files still being written
        os.utime(inbox / src.name, (past, past))
    output = out / "call.anon.mp4"
    env = _env(home, policy)
    cli = str(CLI)
    plan: dict[str, tuple[list[str], Path]] = {
        "run": ([cli, "run", str(sample.video), "-o", str(output), "--roster", str(sample.roster),
                 "--sidecar", str(sample.sidecar), "--policy", str(policy)], sample.video),
        "batch": ([cli, "batch", str(inbox), "--out", str(outbox), "--roster", str(sample.roster), "--policy", str(policy),
                   "--workers", "1", "--device", "cpu", "--quiet"], inbox / sample.video.name),
        # export's access file, report key and audit log come from $ANONYMIZER_POLICY (the deployment).
        "export": ([cli, "export", str(output), "--to", str(dest)], output),
        "purge": ([cli, "purge", str(sample.video.parent), "--dry-run"], sample.video.parent),
        "check": ([cli, "check", "--policy", str(policy), "--roster", str(sample.roster), "--out", str(out),
                   "--device", "cpu"], sample.roster),
    }
    runs = {name: (argv, opened, guarded(name, argv, work=work, shim=shim, env=env)) for name, (argv, opened) in plan.items()}
    print("guarded seconds:", {name: round(t.seconds, 1) for name, (_a, _o, t) in runs.items()})
    return Deployment(sample, policy, work, home, output, runs)


def test_the_namespace_has_no_network() -> None:
    """/proc/net/dev lists the interfaces of the reader's own namespace: only lo, and lo is
    down (its flags, from /sys/class/net through the namespace's own ioctl, say not UP)."""
    script = ("import fcntl, socket, struct\n"
              "print(open('/proc/net/dev').read().split('\\n', 2)[2].replace(':', ' ').split()[0::17])\n"
              "flags = struct.unpack('16sH', fcntl.ioctl(socket.socket(), 0x8913, struct.pack('16sH', b'lo', 0)))[1]\n"
              "print(flags & 1)\n")
    proc = subprocess.run([*unshare_net(), sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["['lo']", "0"]


@pytest.mark.parametrize("name", ["run", "batch", "export", "purge", "check"])
def test_command_sends_nothing_and_looks_nothing_up(deployment: Deployment, name: str) -> None:
    argv, opened, t = deployment.runs[name]
    assert t.proc.returncode == 0, t.why()
    assert_guards_ran(t, argv, opened)
    assert_offline(t)


def test_commands_did_their_work(deployment: Deployment) -> None:
    """The guarded commands really ran the code paths (not an early refusal)."""
    assert deployment.output.is_file()
    assert (deployment.output.parent.parent / "export" / deployment.output.name).is_file()
    assert list((deployment.output.parent.parent / "outbox").rglob("*.anon.mp4"))
    report = json.loads(deployment.output.with_name("call.anon.report.json").read_text())
    assert report["status"] == "published"
    assert "whisper" in json.dumps(report["models"]).lower()  # speech ran, so onnxruntime (VAD) loaded


def test_onnxruntime_wrote_no_telemetry(deployment: Deployment) -> None:
    """onnxruntime's 1DS store (~/.cache/Microsoft/DeveloperTools/.onnxruntime) never
    appears in the fresh HOME the commands ran with, and onnxruntime did load."""
    stores = [str(p) for p in deployment.home.rglob("*") if "Microsoft" in p.parts or ".onnxruntime" in p.parts]
    assert stores == []
    trace = deployment.runs["run"][2].trace
    assert "onnxruntime_pybind11_state" in trace, "onnxruntime never loaded: this proves nothing"


def test_library_forces_offline_switches(tmp_path: Path) -> None:
    """Importing the library (not only the CLI) forces the switches, over a user's "0", and
    onnxruntime imported after it then writes no telemetry store (the fast form of the
    check above; it fails on a library that only sets defaults)."""
    from anonymizer import OFFLINE_ENV

    env = _env(tmp_path, tmp_path / "none.toml")
    env.update({k: "0" for k in OFFLINE_ENV})
    code = ("import json, os, anonymizer, onnxruntime\n"
            "from anonymizer import OFFLINE_ENV\n"
            "print(json.dumps({k: os.environ.get(k) for k in OFFLINE_ENV}))\n")
    proc = subprocess.run([*unshare_net(), sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == OFFLINE_ENV
    assert OFFLINE_ENV["ORT_DISABLE_TELEMETRY"] == "1" and OFFLINE_ENV["HF_HUB_OFFLINE"] == "1"
    assert [str(p) for p in tmp_path.rglob("*") if "Microsoft" in p.parts] == []


# --------------------------------------------------------------------------- the guards can fail

CONTROL = """
import os, socket
try:
    socket.getaddrinfo("mobile.events.data.microsoft.com", 443)
except OSError:
    pass
for family, kind, addr, send in ((socket.AF_INET, socket.SOCK_STREAM, ("192.0.2.1", 443), False),
                                 (socket.AF_INET, socket.SOCK_DGRAM, ("192.0.2.1", 53), True),
                                 (socket.AF_INET6, socket.SOCK_STREAM, ("::1", 53), False),
                                 (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 9), False)):
    s = socket.socket(family, kind)
    try:
        s.sendto(b"x", addr) if send else s.connect(addr)
    except OSError:
        pass
    s.close()
open("/etc/resolv.conf").close() if os.path.exists("/etc/resolv.conf") else None
"""


def test_guards_catch_what_they_must(shim: Path, tmp_path: Path) -> None:
    """A control program that does each forbidden thing once: every one is caught, and the
    allowed one (loopback, not DNS) is not."""
    argv = [sys.executable, "-c", CONTROL]
    t = guarded("control", argv, work=tmp_path, shim=shim, env=_env(tmp_path, tmp_path / "none.toml"), timeout=120)
    assert t.proc.returncode == 0, t.why()
    assert shim_lookups(t.shim_log) == [f"getaddrinfo {pid} mobile.events.data.microsoft.com"
                                        for pid in re.findall(r"^loaded (\d+) ", t.shim_log, re.M)[:1]]
    found = network_findings(t.trace)
    assert sum("192.0.2.1" in f and "not loopback" in f for f in found) == 1, found
    assert sum("DNS (port 53)" in f for f in found) == 2, found  # to 192.0.2.1:53 and to [::1]:53
    assert not any("127.0.0.1" in f for f in found), found
    if Path("/etc/resolv.conf").exists():
        assert any("reads /etc/resolv.conf" in f for f in found), found


def test_guard_proof_fails_without_the_guard(shim: Path, tmp_path: Path) -> None:
    """Without the shim loaded (or strace watching something else) the proof is missing."""
    t = Traced("x", subprocess.CompletedProcess([], 0, "", ""), trace="", shim_log="", seconds=0.0)
    with pytest.raises(AssertionError, match="no execve"):
        assert_guards_ran(t, [str(CLI), "run"], tmp_path)
    t.trace = f'7 execve("{CLI}", ["{CLI}", "run"], 0x0 /* 1 var */) = 0\n7 openat(AT_FDCWD, "{tmp_path}", O_RDONLY) = 3\n'
    with pytest.raises(AssertionError, match="did not load"):
        assert_guards_ran(t, [str(CLI), "run"], tmp_path)
    t.shim_log = f"loaded 7 {CLI}\n"
    assert_guards_ran(t, [str(CLI), "run"], tmp_path)
