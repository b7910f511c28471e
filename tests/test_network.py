"""Nothing leaves the machine: `handbook ingest`, `ask` and `serve` (one question through the API)
run under strace, and every connection or datagram outside loopback, and every DNS query, fails the test.

onnxruntime's official wheels resolve mobile.events.data.microsoft.com (1DS telemetry) seconds after
a session starts unless ORT_DISABLE_TELEMETRY=1 (set by ingest/env.py); this test is what catches it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pdf_factory import make_pdf, sample_rules_pages

STRACE = shutil.which("strace")
# sendmmsg too: glibc's resolver sends the A and AAAA queries of one lookup with it.
TRACED_CALLS = "connect,sendto,sendmsg,sendmmsg"
_CALL = re.compile(r"\b(connect|sendto|sendmsg|sendmmsg)\(")
_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
DNS_PORT = 53


@dataclass(frozen=True)
class Contact:
    """One traced call that reached an IP address."""

    line: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        ip = ipaddress.ip_address(self.address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_loopback

    @property
    def forbidden(self) -> bool:
        """Outside loopback, or a DNS query (even to a resolver on loopback: it would ask further)."""
        return not self.loopback or self.port == DNS_PORT


def contacts(trace: str) -> list[Contact]:
    """The IP addresses named by connect/sendto/sendmsg/sendmmsg calls in an `strace -f` log.

    AF_UNIX and AF_NETLINK calls name no IP address and are not listed; a send on a connected
    socket names none either: its connect call is listed instead.
    """
    found: list[Contact] = []
    for line in trace.splitlines():
        if not _CALL.search(line):
            continue
        for port, address in _INET.findall(line) + _INET6.findall(line):
            found.append(Contact(line.strip(), address, int(port)))
    return found


def _forbidden(trace_file: Path) -> list[str]:
    return [f"{c.address}:{c.port}  {c.line[:200]}" for c in contacts(trace_file.read_text()) if c.forbidden]


# -- unit: the trace parser recognises what it must --------------------------------------------------

# Lines as strace 6 prints them (the first two from an onnxruntime 1.31.1 session without the switch).
_DNS_LINES = """\
7890  connect(7, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0
7890  sendto(7, "n\\354\\1\\0\\0\\1\\0\\0\\0\\0\\0\\0\\6mobile\\6events"..., 50, MSG_NOSIGNAL, NULL, 0) = 50
7891  connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), \
inet_pton(AF_INET6, "2603:1030:7::1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>
7892  sendmsg(5, {msg_name={sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, \
msg_namelen=16}, 0) = 33
"""
_LOCAL_LINES = """\
7557  connect(4, {sa_family=AF_INET, sin_port=htons(7860), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
7557  connect(5, {sa_family=AF_INET6, sin6_port=htons(7860), sin6_flowinfo=htonl(0), \
inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
7557  connect(6, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), \
inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0
7890  connect(7, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
7557  sendto(3, [{nlmsg_len=20, nlmsg_type=RTM_GETADDR, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP}], 20, 0, \
{sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 20
"""


@pytest.mark.unit
def test_parser_flags_dns_and_remote_addresses() -> None:
    found = contacts(_DNS_LINES)
    assert [(c.address, c.port) for c in found] == [
        ("10.255.255.53", 53),
        ("2603:1030:7::1", 443),
        ("127.0.0.53", 53),
    ]
    assert all(c.forbidden for c in found)


@pytest.mark.unit
def test_parser_allows_loopback_unix_and_netlink() -> None:
    found = contacts(_LOCAL_LINES)
    assert [c.address for c in found] == ["127.0.0.1", "::1", "::ffff:127.0.0.1"]
    assert not any(c.forbidden for c in found)


# -- integration: the three commands under strace -----------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _strace(trace_file: Path, *args: str) -> list[str]:
    assert STRACE is not None
    handbook = Path(sys.executable).parent / "handbook"
    return [STRACE, "-f", "-e", f"trace={TRACED_CALLS}", "-o", str(trace_file), str(handbook), *args]


def _strace_works(tmp_path: Path) -> str | None:
    """None when strace can trace here; otherwise why not (e.g. ptrace forbidden in a container)."""
    assert STRACE is not None
    probe = subprocess.run(
        [STRACE, "-f", "-o", str(tmp_path / "probe.trace"), "true"], capture_output=True, text=True, timeout=60
    )
    return None if probe.returncode == 0 else f"strace cannot trace here: {probe.stderr.strip()[:200]}"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.heavy(20)
def test_ingest_ask_and_serve_make_no_outside_connection(tmp_path: Path) -> None:
    if STRACE is None:
        pytest.skip("strace not installed (.ci/run installs it: apt-get install strace)")
    reason = _strace_works(tmp_path)
    if reason:
        pytest.skip(reason)
    pdf = make_pdf(tmp_path / "pdfs" / "rules.pdf", sample_rules_pages())
    index = tmp_path / "index"
    env = {
        **os.environ,
        "HANDBOOK_INDEX_DIR": str(index),
        "HANDBOOK_MANIFEST_PATH": str(tmp_path / "no-manifest.toml"),
        "HANDBOOK_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
        "HANDBOOK_AUTH": "",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CHROMA_HOST", "HANDBOOK_CHROMA_HOST", "HANDBOOK_AUTH_FILE", "HANDBOOK_LLM"):
        env.pop(name, None)

    traces: dict[str, Path] = {}
    traces["ingest"] = tmp_path / "ingest.trace"
    done = subprocess.run(
        _strace(traces["ingest"], "ingest", str(pdf), "-q"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    traces["ask"] = tmp_path / "ask.trace"
    done = subprocess.run(
        _strace(traces["ask"], "ask", "May prisoners be placed in a dark cell?", "--json"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dark cell" in done.stdout

    traces["serve"] = tmp_path / "serve.trace"
    port = _free_port()
    proc = subprocess.Popen(
        _strace(traces["serve"], "serve", "--port", str(port)),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # strace and the server in one process group, stopped together
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "running at" in line:
                break
        assert any("running at" in line for line in lines), "".join(lines)
        from gradio_client import Client

        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "May prisoners be placed in a dark cell?", api_name="/ask"
        )
        assert result["citations"], result
    finally:
        # The whole group: killing strace alone would leave the traced server running.
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    assert all(path.stat().st_size > 0 for path in traces.values())  # strace did record the processes
    problems = [f"{name}: {problem}" for name, path in traces.items() for problem in _forbidden(path)]
    assert not problems, "outside connections or DNS queries:\n" + "\n".join(problems[:20])
