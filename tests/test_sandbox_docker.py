"""`sandbox=docker` gets the limits of the local sandbox (issue 17): processes, /dev/shm, a read-only root, no
capabilities, file size, the workspace's disk use, masked sources; and containers a killed copilot left are removed.

No Docker engine is needed: a stand-in `docker` command (a small Python script, written by the test) records every
call and runs a container's command on this machine, in its working folder, as `docker run` would in the image."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.sandbox.docker import DockerSandbox

FAKE_DOCKER = """#!{python}
import json, os, signal, subprocess, sys
folder = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
with open(os.path.join(folder, "calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == "info":
    print("24.0.7")
elif args[0] == "ps":
    listing = os.path.join(folder, "ps.txt")
    print(open(listing).read() if os.path.exists(listing) else "", end="")
elif args[0] == "inspect":
    print("false")
elif args[0] == "kill":
    pid_file = os.path.join(folder, args[1] + ".pid")
    if os.path.exists(pid_file):
        os.killpg(int(open(pid_file).read()), signal.SIGKILL)
elif args[0] == "run":
    command = args[-1]
    workdir = args[args.index("-w") + 1] if "-w" in args else folder
    if "--name" in args:
        open(os.path.join(folder, args[args.index("--name") + 1] + ".pid"), "w").write(str(os.getpid()))
    os.setpgid(0, 0)
    os.chdir(workdir)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]  # the "image's" python
    os.execv("/bin/bash", ["/bin/bash", "-c", command])
"""


@pytest.fixture
def docker(tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "fake-docker"
    folder.mkdir()
    script = folder / "docker"
    script.write_text(FAKE_DOCKER.format(python=sys.executable))
    script.chmod(0o755)
    return script, folder / "calls.jsonl"


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_container_gets_the_limits_of_the_local_sandbox(docker, tmp_path):
    script, log = docker
    work = tmp_path / "work"
    work.mkdir()
    box = DockerSandbox(docker=str(script), max_processes=64, memory_mb=2048, max_file_mb=100, cpu_time_s=60)
    box.expose([tmp_path / "models"])
    (tmp_path / "models").mkdir()
    result = box.run("echo hello", work)
    assert result.ok and result.stdout_tail.strip() == "hello"
    run = next(call for call in calls(log) if call[0] == "run")
    flags = " ".join(run)
    for expected in ("--pids-limit 64", "--shm-size 2048m", "--read-only", "--cap-drop ALL",
                     "--security-opt no-new-privileges", f"--ulimit fsize={100 * 2**20}", "--ulimit cpu=60:65",
                     "--memory 2048m --memory-swap 2048m", "--network none", f"-v {work}:{work}", f"-w {work}",
                     f"-v {tmp_path / 'models'}:{tmp_path / 'models'}:ro",
                     f"--label copilot.owner={socket.gethostname()}"):
        assert expected in flags, expected
    assert any(call[:2] == ["rm", "-f"] for call in calls(log)), "the container is removed"


def test_masked_sources_are_looked_up_with_the_images_python_and_covered(docker, tmp_path):
    script, log = docker
    box = DockerSandbox(docker=str(script))
    missing = box.mask(["sklearn/datasets/data/digits.csv.gz", "sklearn.datasets.descr", "no.such.module"])
    assert missing == ["no.such.module"]
    work = tmp_path / "work"
    work.mkdir()
    box.run("true", work)
    flags = " ".join(next(call for call in calls(log) if call[0] == "run" and "--name" in call))
    assert "/dev/null:" in flags and "digits.csv.gz:ro" in flags
    assert "copilot-docker-empty-" in flags and "descr:ro" in flags


def test_the_disk_use_of_the_workspace_is_limited_for_containers_too(docker, tmp_path):
    script, _ = docker
    work = tmp_path / "work"
    work.mkdir()
    box = DockerSandbox(docker=str(script), max_disk_mb=20, timeout_s=60)
    code = "for i in $(seq 20); do head -c 5000000 /dev/zero > chunk$i.bin; sleep 0.1; done; echo all written"
    result = box.run(code, work)
    assert result.reason == "killed" and "disk limit of 20 MB" in (result.notice or ""), result
    assert "all written" not in result.stdout_tail
    assert sum(p.stat().st_size for p in work.glob("chunk*.bin")) < 40 * 2**20


def test_containers_left_by_a_copilot_that_is_gone_are_removed(docker, tmp_path):
    script, log = docker
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    (script.parent / "ps.txt").write_text(f"copilot-aaa {host}:{dead.pid}\ncopilot-bbb {host}:{os.getpid()}\n"
                                          f"copilot-ccc other-host:{dead.pid}\n")
    DockerSandbox(docker=str(script)).check_engine()
    removed = [call[2] for call in calls(log) if call[:2] == ["rm", "-f"]]
    assert removed == ["copilot-aaa"]
