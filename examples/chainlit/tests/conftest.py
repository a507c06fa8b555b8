"""Starts one real `scopegate up` for the whole test session and hands tests its addresses.

The binary is `$SCOPEGATE_BIN`, else the repository's `target/debug/scopegate`. The server runs
in a temporary working directory, so its state (`data/`) and audit log (`logs/audit.jsonl`)
are fresh for every session and readable by the tests. It is stopped with SIGTERM at the end,
and a clean exit is part of the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from scopegate_client import ScopegateConfig

REPO = Path(__file__).resolve().parents[3]
DIRECTORY = REPO / "crates" / "idp" / "defaults" / "directory.toml"
READY_WITHIN_SECONDS = 30.0
STOP_WITHIN_SECONDS = 15.0
PASSWORD = "demo-password"


@dataclass(frozen=True)
class Scopegate:
    """A running `scopegate up`: its addresses and its working directory."""

    workdir: Path
    issuer: str
    api_url: str
    mcp_url: str

    def config(self, **overrides: Any) -> ScopegateConfig:
        """A client configuration for this server, with any field overridden."""
        values: dict[str, Any] = {"issuer": self.issuer, "mcp_url": self.mcp_url}
        values.update(overrides)
        return ScopegateConfig(**values)

    def audit_records(self) -> list[dict[str, Any]]:
        """Every record of the audit log so far, in file order."""
        path = self.workdir / "logs" / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line]


def totp_now(user: str) -> str:
    """The user's current RFC 6238 code, from the public development directory.

    The IdP accepts a code once per user and time step, so each test that signs in with a code
    uses a user no other test signs in with a code.
    """
    directory = tomllib.loads(DIRECTORY.read_text())
    secrets = {entry["id"]: entry.get("totp_secret") for entry in directory["users"]}
    secret = secrets[user]
    assert secret, f"user `{user}` has no TOTP secret in the development directory"
    return pyotp.TOTP(secret).now()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def scopegate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scopegate]:
    binary = Path(os.environ.get("SCOPEGATE_BIN") or REPO / "target" / "debug" / "scopegate")
    if not binary.is_file():
        pytest.fail(f"no scopegate binary at `{binary}`: run `cargo build -p scopegate` first")

    workdir = tmp_path_factory.mktemp("scopegate")
    idp, api, mcp = _free_ports(3)
    command = [str(binary), "up"]
    for flag, port in (("--idp-port", idp), ("--api-port", api), ("--mcp-port", mcp)):
        command += [flag, str(port)]
    # Only the flags above configure the server: no SCOPEGATE_* variable of the caller leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEGATE_")}
    log_path = workdir / "scopegate.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(process, [idp, api, mcp], log_path)
        yield Scopegate(
            workdir=workdir,
            issuer=f"http://127.0.0.1:{idp}",
            api_url=f"http://127.0.0.1:{api}",
            mcp_url=f"http://127.0.0.1:{mcp}/mcp",
        )
    finally:
        code = _stop(process)
    assert code == 0, f"scopegate exited with {code}:\n{_tail(log_path)}"


def closed_port() -> int:
    """A local port nothing listens on (at the moment it is chosen)."""
    return _free_ports(1)[0]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """The URL of a local server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _wait_ready(process: subprocess.Popen[bytes], ports: list[int], log_path: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    waiting = list(ports)
    while waiting:
        if process.poll() is not None:
            pytest.fail(f"scopegate exited with {process.returncode}:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"scopegate not ready within {READY_WITHIN_SECONDS:g} s on ports {waiting}:\n"
                f"{_tail(log_path)}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{waiting[0]}/readyz", timeout=1.0).status_code == 200:
                waiting.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -signal.SIGKILL


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
