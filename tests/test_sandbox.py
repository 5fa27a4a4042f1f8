"""The local sandbox: process-tree timeouts, memory and file limits, scrubbed environment, output cap, no network.
The attacks of issue 17 (escaped processes, the host's /dev and /proc, sockets, reads outside the view, process and
disk limits) are in tests/test_sandbox_escapes.py."""

from __future__ import annotations

import os
import shlex
import socket
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from copilot.sandbox.base import SandboxUnavailable
from copilot.sandbox.docker import DockerSandbox
from copilot.sandbox.local import LocalSandbox


def script(tmp_path: Path, name: str, code: str) -> str:
    (tmp_path / name).write_text(code)
    return f"python {name}"


def running(token: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose command line holds `token`: how the host sees a process of a command, whose
    own pid is one of its PID namespace."""
    found = []
    for process in psutil.process_iter():
        try:
            if token in " ".join(process.cmdline()) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_exit_codes_cwd_and_output(tmp_path):
    box = LocalSandbox()
    result = box.run(script(tmp_path, "a.py", "import os, sys\nprint(os.getcwd())\nsys.exit(3)"), tmp_path)
    assert result.exit_code == 3 and result.reason == "finished" and not result.ok
    assert result.stdout_tail.strip() == str(tmp_path)
    assert box.run("true", tmp_path).ok


def test_the_interpreter_running_copilot_is_python_in_the_sandbox(tmp_path):
    result = LocalSandbox().run("python -c 'import sys; print(sys.executable)'", tmp_path)
    assert Path(result.stdout_tail.strip()).parent == Path(sys.executable).parent


@pytest.mark.parametrize("backend", ["auto", "unshare"])
def test_timeout_kills_children_and_setsid_grandchildren(tmp_path, backend):
    code = (
        "import subprocess, time\n"
        "p = subprocess.Popen(['setsid', 'sleep', '1000.25'])\n"
        "time.sleep(1000)\n"
    )
    started = time.monotonic()
    result = LocalSandbox(backend=backend).run(script(tmp_path, "spawn.py", code), tmp_path, timeout_s=1.5)
    assert result.reason == "timeout" and time.monotonic() - started < 10
    time.sleep(0.2)
    assert running("sleep 1000.25") == []


@pytest.mark.parametrize("backend", ["auto", "unshare"])
def test_background_processes_do_not_outlive_a_finished_command(tmp_path, backend):
    result = LocalSandbox(backend=backend).run("sleep 1000.5 & echo started", tmp_path)
    assert result.ok and result.stdout_tail.strip() == "started"
    time.sleep(0.2)
    assert running("sleep 1000.5") == []


def test_memory_limit_stops_a_large_allocation(tmp_path):
    code = "x = bytearray(600 * 1024 * 1024)\nprint('allocated')\n"
    result = LocalSandbox(memory_mb=300).run(script(tmp_path, "big.py", code), tmp_path)
    assert result.reason == "memory" and "allocated" not in result.stdout_tail
    assert "MemoryError" in result.stderr_tail


def test_secrets_of_the_parent_are_not_visible(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-secret")
    result = LocalSandbox().run("env", tmp_path)
    assert "sk-secret" not in result.stdout_tail and "tok-secret" not in result.stdout_tail
    assert "PATH=" in result.stdout_tail


def test_output_is_capped_with_head_tail_and_a_cut_notice(tmp_path):
    code = "import sys\nsys.stdout.write('BEGIN' + 'x' * 10_000_000 + 'END')\n"
    started = time.monotonic()
    result = LocalSandbox(output_cap_bytes=4000).run(script(tmp_path, "loud.py", code), tmp_path)
    assert time.monotonic() - started < 20
    assert result.stdout_bytes == 10_000_008
    assert result.stdout_tail.startswith("BEGIN") and result.stdout_tail.endswith("END")
    assert "bytes cut" in result.stdout_tail and len(result.stdout_tail) < 5000


def test_cpu_time_limit(tmp_path):
    result = LocalSandbox(cpu_time_s=1).run(script(tmp_path, "spin.py", "while True: pass\n"), tmp_path,
                                            timeout_s=20)
    assert result.reason in ("killed", "memory") and result.duration_s < 15
    assert result.reason == "killed"


def test_max_file_size(tmp_path):
    code = "open('out.bin', 'wb').write(b'0' * 3 * 1024 * 1024)\n"
    result = LocalSandbox(max_file_mb=1).run(script(tmp_path, "write.py", code), tmp_path)
    assert not result.ok
    assert (tmp_path / "out.bin").stat().st_size <= 1024 * 1024


def test_network_is_isolated_or_the_notice_says_it_is_not(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\nprint('connected')\n"
    try:
        result = LocalSandbox(network="isolate").run(script(tmp_path, "net.py", code), tmp_path)
    finally:
        server.close()
    # The fallback isolation's notice (no bubblewrap) is on every result; only a network notice excuses a connection.
    if "network isolation unavailable" not in (result.notice or ""):
        assert "connected" not in result.stdout_tail and result.exit_code != 0
    allowed = LocalSandbox(network="allow")
    assert allowed.environment().get("HF_HUB_OFFLINE") is None


def test_docker_sandbox_without_an_engine_is_a_clear_error(tmp_path):
    box = DockerSandbox()
    try:
        box.check_engine()
    except SandboxUnavailable as error:
        assert "sandbox=local" in str(error)
        with pytest.raises(SandboxUnavailable):
            box.run("true", tmp_path)
    else:
        pytest.skip("a Docker engine is reachable here")


def test_no_sandbox_process_is_left_behind():
    children = psutil.Process(os.getpid()).children(recursive=True)
    assert [c for c in children if c.status() != psutil.STATUS_ZOMBIE] == []


@pytest.mark.parametrize("backend", ["auto", "unshare"])
def test_commands_cannot_write_outside_their_folder(tmp_path, backend):
    """The workspace and a private TMPDIR are writable; everything else is read-only or not there, and the command
    cannot undo it."""
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    command = (f"echo in > inside.txt; echo x > ../outside/escape.txt; echo x > {outside}/abs.txt; "
               f"echo x > {sys.prefix}/escape.txt; echo x > /tmp/copilot-escape-$$.txt; "
               "python -c 'import tempfile; tempfile.TemporaryFile().write(b\"1\") and "
               "print(\"tmpdir ok\", tempfile.gettempdir())'; "
               "mount -o remount,rw / 2>/dev/null || echo remount refused")
    box = LocalSandbox(backend=backend)
    result = box.run(command, work)
    if result.notice and "filesystem confinement unavailable" in result.notice:
        pytest.skip("no mount namespace on this machine (the notice says so)")
    assert (work / "inside.txt").read_text() == "in\n"
    assert list(outside.iterdir()) == [] and not list(Path("/tmp").glob("copilot-escape-*"))
    assert not (Path(sys.prefix) / "escape.txt").exists()
    assert "tmpdir ok" in result.stdout_tail and "remount refused" in result.stdout_tail
    assert "Read-only file system" in result.stderr_tail and "filesystem confined" in box.describe()
    opened = LocalSandbox(filesystem="open", backend=backend).run("echo x > ../outside/open.txt", work)
    assert opened.ok and (outside / "open.txt").exists()


def test_the_private_tmpdir_is_removed_after_the_run(tmp_path, monkeypatch):
    made = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(Path(real_mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    result = LocalSandbox().run("echo x > $TMPDIR/file && ls $TMPDIR", tmp_path)
    assert result.ok and "file" in result.stdout_tail
    private = [p for p in made if p.name.startswith("copilot-sandbox-")]
    assert private and not any(p.exists() for p in private)


@pytest.mark.parametrize("backend", ["auto", "unshare"])
def test_hidden_host_files_read_as_empty_inside_the_sandbox_only(tmp_path, backend):
    """A task's held-out answers stay in its starter folder; `hide` makes them unreadable to commands by any path,
    also where the view shows the starter folder (it is not in bubblewrap's view unless a read path names it)."""
    starter, work = tmp_path / "starter", tmp_path / "work"
    (starter / "data").mkdir(parents=True)
    work.mkdir()
    answers = starter / "data" / "test labels.csv"  # a space: the path is quoted in the wrapper
    answers.write_text("id,label\n0,7\n")
    (starter / "data" / "train.csv").write_text("id\n0\n")
    box = LocalSandbox(backend=backend, read_paths=[str(starter)])
    box.hide([answers, starter / "data" / "missing.csv"])
    result = box.run(f"cat {shlex.quote(str(answers))} | wc -c; cat ../starter/data/*.csv | wc -c", work)
    if result.notice and "filesystem confinement unavailable" in result.notice:
        pytest.skip("no mount namespace on this machine (the notice says so)")
    assert result.ok and result.stdout_tail.split() == ["0", "5"], result
    assert "could not hide" not in result.stderr_tail
    assert answers.read_text() == "id,label\n0,7\n", "the host file is untouched"
    shown = LocalSandbox(backend=backend, read_paths=[str(starter)]).run(f"cat {shlex.quote(str(answers))}", work)
    assert shown.stdout_tail == "id,label\n0,7\n"
