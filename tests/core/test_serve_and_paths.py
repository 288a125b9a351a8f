"""Issue #10 point 7: ``gridcare serve`` stops on the first Ctrl+C, its workers default to the CPU cores, and
gridcare's files do not depend on the directory it is started from."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gridcare import paths
from gridcare.core.management.commands import serve

SRC = Path(paths.__file__).resolve().parent.parent
CLI = "import sys; from gridcare.cli import main; sys.argv[0] = 'gridcare'; sys.exit(main())"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDCARE_")}
    env["PYTHONPATH"] = str(SRC)
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_workers_default_to_the_cpu_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDCARE_WORKERS", raising=False)
    parser = serve.Command().create_parser("gridcare", "serve")
    assert parser.parse_args([]).workers == (os.cpu_count() or 1)
    monkeypatch.setenv("GRIDCARE_WORKERS", "3")
    assert serve.Command().create_parser("gridcare", "serve").parse_args([]).workers == 3


def test_serve_stops_on_one_sigint_to_its_process_group(tmp_path: Path) -> None:
    """Given ``gridcare serve`` answering on a free port and its machine API on another, when one SIGINT reaches
    its whole process group (Ctrl+C in a terminal), then it exits within a few seconds and nothing answers on
    either port any more."""
    port, machine = _free_port(), _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLI,
            "serve",
            "--port",
            str(port),
            "--machine-port",
            str(machine),
            "--workers",
            "2",
            "--no-access-log",
        ],  # fmt: skip
        # a loaded CI machine may take long to stop the workers in order: serve ends them after 3 s then
        env=_env(GRIDCARE_VAR_DIR=str(tmp_path / "var"), GRIDCARE_STOP_SECONDS="3"),
        cwd=tmp_path,
        start_new_session=True,  # its own process group, like a shell's foreground job
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (_answers(port) and _answers(machine)):
            assert server.poll() is None, "serve exited before answering"
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.3)
        os.killpg(server.pid, signal.SIGINT)
        assert server.wait(timeout=15) == 0
        time.sleep(0.5)
        assert not _answers(port) and not _answers(machine)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_var_and_node_modules_do_not_depend_on_the_current_directory(tmp_path: Path) -> None:
    """Given gridcare started from two unrelated directories without GRIDCARE_VAR_DIR, then both use the same
    var directory (the checkout's ``var/``) and node_modules, and no ``var`` appears where it was started."""
    probe = "from django.conf import settings; print(settings.VAR_DIR); print(settings.NODE_MODULES)"
    answers = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        result = subprocess.run(
            [sys.executable, "-c", CLI, "shell", "-c", probe],
            env=_env(),
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        answers.append(result.stdout.split()[-2:])  # (Django 5.2 shell first says what it imported)
        assert not (folder / "var").exists()
    assert answers[0] == answers[1]
    checkout = paths.checkout_dir()
    assert checkout is not None
    assert [Path(answer).resolve() for answer in answers[0]] == [
        (checkout / "var").resolve(),
        (checkout / "node_modules").resolve(),
    ]


def test_installed_package_uses_a_per_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Given no checkout around the package (installed), then the var directory is under XDG_DATA_HOME, and
    GRIDCARE_VAR_DIR / GRIDCARE_NODE_MODULES override either default."""
    monkeypatch.setattr(paths, "checkout_dir", lambda: None)
    monkeypatch.delenv("GRIDCARE_VAR_DIR", raising=False)
    monkeypatch.delenv("GRIDCARE_NODE_MODULES", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.var_dir() == (tmp_path / "data" / "gridcare").resolve()
    assert (
        paths.node_modules_dir(paths.var_dir()) == (tmp_path / "data" / "gridcare" / "node_modules").resolve()
    )
    monkeypatch.setenv("GRIDCARE_VAR_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GRIDCARE_NODE_MODULES", str(tmp_path / "nm"))
    assert paths.var_dir() == (tmp_path / "elsewhere").resolve()
    assert paths.node_modules_dir(paths.var_dir()) == (tmp_path / "nm").resolve()


def test_a_server_that_ends_by_itself_stops_the_other_and_gives_its_code() -> None:
    """``serve`` runs two servers (the UI's and the machine API's): one failing must not leave the other running
    unseen — the other is stopped and the failing one's exit code is ``serve``'s."""
    started = time.monotonic()
    code = serve.run_until_signalled(
        [
            [sys.executable, "-c", "import sys; sys.exit(3)"],
            [sys.executable, "-c", "import time; time.sleep(60)"],
        ]
    )
    assert code == 3
    assert time.monotonic() - started < 30  # (the sleeper stopped by its SIGINT, not waited for)
