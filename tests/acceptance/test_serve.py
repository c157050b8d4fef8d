"""As a new user: ``smsrelay serve`` on an empty data folder, the seed's request, the CLI."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SMSRELAY = str(Path(sys.executable).with_name("smsrelay"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serve(
    tmp_path: Path, **extra_env: str
) -> Iterator[tuple[str, Path, dict[str, str], subprocess.Popen[str]]]:
    """``smsrelay serve`` on a fresh data folder, until it answers /healthz."""
    port = _free_port()
    env = {
        **os.environ,
        "SMSRELAY_DATA_DIR": str(tmp_path / "data"),
        "SMSRELAY_HTTP_PORT": str(port),
        "SMSRELAY_SMPP_PORT": "0",
        "SMSRELAY_CONFIG": str(tmp_path / "none.toml"),
        **extra_env,
    }
    env.pop("SMSRELAY_DATABASE_URL", None)
    proc = subprocess.Popen(
        [SMSRELAY, "serve"],
        env=env,
        cwd=tmp_path,
        text=True,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"serve did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield base, tmp_path / "data", env, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str], subprocess.Popen[str]]]:
    with _serve(tmp_path) as running:
        yield running


def test_seed_request_is_delivered(
    served: tuple[str, Path, dict[str, str], subprocess.Popen[str]],
) -> None:
    base, data, env, proc = served
    key_file = data / "api-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert key.startswith("sr_") and "\n" not in key
    r = httpx.post(
        f"{base}/send",
        headers={"Authorization": f"Bearer {key}"},
        json={"to": "+1234567890", "message": "Your verification code is 1234"},
    )
    assert r.status_code == 202, r.text
    message_id = r.json()["message_id"]
    deadline = time.time() + 10
    while True:
        got = httpx.get(
            f"{base}/v1/messages/{message_id}", headers={"Authorization": f"Bearer {key}"}
        ).json()
        if got["status"] == "delivered" or time.time() > deadline:
            break
        time.sleep(0.1)
    assert got["status"] == "delivered"
    assert httpx.get(f"{base}/docs").status_code == 200
    assert httpx.get(f"{base}/openapi.json").json()["paths"]["/send"]

    # the CLI client, against the running API, with the key file
    out = subprocess.run(
        [SMSRELAY, "send", "--to", "+14155552671", "--message", "hi", "--url", base],
        env=env,
        cwd=data.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert '"status": "queued"' in out.stdout

    # keys: create, list, revoke, and a revoked key is refused (after the cache window)
    made = subprocess.run(
        [SMSRELAY, "keys", "create", "--account", "default", "--scope", "read"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    new_key = made.stdout.strip()
    assert (
        httpx.get(f"{base}/v1/messages", headers={"Authorization": f"Bearer {new_key}"}).status_code
        == 200
    )
    listed = subprocess.run(
        [SMSRELAY, "keys", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert new_key[:15] in listed.stdout
    assert new_key not in listed.stdout
    key_id = next(line.split()[1] for line in listed.stdout.splitlines() if new_key[:15] in line)
    revoked = subprocess.run(
        [SMSRELAY, "keys", "revoke", key_id], env=env, capture_output=True, text=True, timeout=60
    )
    assert revoked.returncode == 0, revoked.stderr + revoked.stdout
    proc.terminate()
    proc.wait(timeout=30)
    banner = proc.stderr.read()  # type: ignore[union-attr]
    assert str(key_file) in banner and "/send" in banner


def test_several_workers_share_the_port_and_the_queue(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "SMSRELAY_DATA_DIR": str(tmp_path / "data"),
        "SMSRELAY_HTTP_PORT": str(port),
        "SMSRELAY_SMPP_PORT": "0",
        "SMSRELAY_WORKERS": "2",
        "SMSRELAY_CONFIG": str(tmp_path / "none.toml"),
    }
    env.pop("SMSRELAY_DATABASE_URL", None)
    proc = subprocess.Popen(
        [SMSRELAY, "serve"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.time() < deadline, "serve did not start"
            time.sleep(0.2)
        key = (tmp_path / "data" / "api-key").read_text().strip()
        auth = {"Authorization": f"Bearer {key}"}
        ids = []
        for n in range(20):  # fresh connections: the kernel spreads them over the workers
            r = httpx.post(
                f"{base}/send", headers=auth, json={"to": "+14155552671", "message": f"w{n}"}
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["message_id"])
        deadline = time.time() + 20
        while time.time() < deadline:
            statuses = {
                httpx.get(f"{base}/v1/messages/{i}", headers=auth).json()["status"] for i in ids
            }
            if statuses == {"delivered"}:
                break
            time.sleep(0.2)
        assert statuses == {"delivered"}
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


def test_two_workers_keep_one_account_rate(tmp_path: Path) -> None:
    """SMSRELAY_WORKERS=2: the account's rate is the gateway's, not each process's."""
    limits = {"SMSRELAY_WORKERS": "2", "SMSRELAY_RATE_LIMIT": "5", "SMSRELAY_RATE_BURST": "5"}
    with _serve(tmp_path, **limits) as (base, data, _, _):
        key = (data / "api-key").read_text().strip()
        body = {"to": "+14155552671", "message": "rate"}
        statuses: list[int] = []
        started = time.monotonic()
        # new connections, so the kernel spreads them over both workers
        while time.monotonic() - started < 2.0:
            with httpx.Client(base_url=base) as client:
                r = client.post("/send", json=body, headers={"Authorization": f"Bearer {key}"})
                statuses.append(r.status_code)
        elapsed = time.monotonic() - started
        accepted = statuses.count(202)
        assert set(statuses) <= {202, 429}
        # one bucket: the burst and 5/s; each worker with its own would pass about twice that
        assert accepted <= 5 + 5 * elapsed + 2, (accepted, elapsed, len(statuses))
        assert accepted >= 5, accepted


def test_first_start_prints_the_banner_without_alembic_bookkeeping(tmp_path: Path) -> None:
    with _serve(tmp_path) as (base, _, _, proc):
        pass  # started: the fixture waited for /healthz; leaving it stops the process
    output = proc.stderr.read()  # type: ignore[union-attr]
    assert f"API on {base}" in output
    assert "first API key (account 'default') written to" in output
    assert "alembic" not in output.lower(), output
