"""Issue 17, probed as an attacker would: what the local sandbox must hold besides secrets, writes, network, timeouts,
memory and file size (tests/test_sandbox.py). Each test is one finding of the issue; each failed on the sandbox of
before (unshare + a watchdog). They need bubblewrap and user namespaces: where the kernel or the machine lacks them
the sandbox says so in its notice, and the test is skipped with that notice (CI installs bubblewrap)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import psutil
import pytest

from copilot.sandbox.local import LocalSandbox

REPO = Path(__file__).resolve().parent.parent


def running(token: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose command line holds `token`, as the host sees them."""
    found = []
    for process in psutil.process_iter():
        try:
            if token in " ".join(process.cmdline()) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def wait_until(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def box(tmp_path_factory) -> LocalSandbox:
    sandbox = LocalSandbox(timeout_s=60)
    probe = sandbox.run("true", tmp_path_factory.mktemp("probe"))
    if "bubblewrap" not in sandbox.describe():
        pytest.skip(f"bubblewrap cannot run here: {probe.notice}")
    return sandbox


# An escape as the issue describes it: double fork, setsid, then execve of a shell with an empty environment (no
# marker variable), which keeps appending to a file in the workspace.
ESCAPE = """import os, sys, time
token = sys.argv[1]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve("/bin/sh", ["/bin/sh", "-c", "while true; do echo x >> escaped.log; sleep 0.05; done", token], {})
    os._exit(0)
time.sleep(float(sys.argv[2]))
"""


# -- finding 1: escaped processes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("ends_by", ["itself", "timeout"])
def test_a_double_forked_setsid_process_without_environment_dies_with_the_command(box, tmp_path, ends_by):
    (tmp_path / "escape.py").write_text(ESCAPE)
    token = f"copilot-escape-{uuid.uuid4().hex}"
    result = box.run(f"python escape.py {token} {0.5 if ends_by == 'itself' else 100}", tmp_path,
                     timeout_s=None if ends_by == "itself" else 1.5)
    assert result.reason == ("finished" if ends_by == "itself" else "timeout"), result
    assert wait_until(lambda: running(token) == [], 2.0), "the escaped process outlived the command"
    log = tmp_path / "escaped.log"
    assert log.exists(), "the escape ran while the command did"
    size = log.stat().st_size
    time.sleep(0.3)
    assert log.stat().st_size == size, "nothing writes into the workspace after the command"


def test_an_experiment_outlives_no_copilot_killed_with_sigkill(box, tmp_path):
    """`--die-with-parent`: copilot dies (kill -9, no cleanup of ours runs), bubblewrap dies with it, and the PID
    namespace, escaped processes included, with bubblewrap."""
    (tmp_path / "escape.py").write_text(ESCAPE)
    token = f"copilot-escape-{uuid.uuid4().hex}"
    driver = textwrap.dedent(f"""
        from pathlib import Path
        from copilot.sandbox.local import LocalSandbox
        LocalSandbox().run("python escape.py {token} 1000", Path({str(tmp_path)!r}))
    """)
    copilot = subprocess.Popen([sys.executable, "-c", driver], cwd=REPO)
    log = tmp_path / "escaped.log"
    try:  # the escaped loop runs once it has written (the driver's own command line holds the token too)
        assert wait_until(lambda: log.exists() and log.stat().st_size > 10, 30), "the experiment did not start"
    finally:
        copilot.kill()
        copilot.wait()
    assert wait_until(lambda: running(token) == [], 5.0), "the experiment outlived copilot"
    size = log.stat().st_size
    time.sleep(0.3)
    assert log.stat().st_size == size, "nothing writes into the workspace after copilot is gone"


# -- finding 2: /dev and /proc are private ---------------------------------------------------------------------------
def test_dev_and_proc_are_private_and_read_only(box, tmp_path):
    name = f"copilot-probe-{uuid.uuid4().hex[:8]}"
    hostname = socket.gethostname()
    command = (f"head -c 1000000 /dev/zero > /dev/{name}; echo rc=$?; ls /dev; "
               "echo sandboxed > /proc/sys/kernel/hostname; echo hostname_rc=$?; "
               "ls /proc | grep -cE '^[0-9]+$'; cat /proc/1/cmdline | tr '\\0' ' '; echo")
    result = box.run(command, tmp_path)
    assert not Path(f"/dev/{name}").exists() and socket.gethostname() == hostname
    lines = result.stdout_tail.splitlines()
    assert "rc=1" in lines and "hostname_rc=1" in lines
    devices = set(lines[lines.index("rc=1") + 1: lines.index("hostname_rc=1")])
    assert {"null", "zero", "random", "urandom", "tty", "shm"} <= devices
    assert not devices & {"vda", "sda", "nvme0n1", "mem", "kmsg", "loop0"}, devices
    processes = int(lines[lines.index("hostname_rc=1") + 1])
    assert processes < 10, "the command sees only the processes of its own PID namespace"
    assert str(os.getpid()) not in result.stdout_tail.split() or processes < 10
    assert "Read-only file system" in result.stderr_tail


def test_what_dev_shm_holds_counts_against_the_memory_limit(tmp_path):
    box = LocalSandbox(memory_mb=300, timeout_s=60)
    code = ("import time\nheld = bytearray(100 * 2**20)\n"
            "with open('/dev/shm/fill', 'wb') as f:\n"
            "    for _ in range(25):\n        f.write(b'1' * 10 * 2**20)\n        f.flush()\n"
            "print('wrote 250 MB to /dev/shm', flush=True)\ntime.sleep(30)\n")
    (tmp_path / "shm.py").write_text(code)
    result = box.run("python shm.py", tmp_path)
    if "bubblewrap" not in box.describe():
        pytest.skip(f"bubblewrap cannot run here: {result.notice}")
    assert result.reason == "memory", result
    assert result.duration_s < 25
    big = box.run("head -c 400000000 /dev/zero > /dev/shm/big; echo rc=$?", tmp_path)
    assert "rc=1" in big.stdout_tail or big.reason == "memory"  # the tmpfs holds at most memory_mb


# -- finding 3: host sockets ------------------------------------------------------------------------------------------
def test_unix_sockets_of_the_host_are_not_reachable(box, tmp_path):
    path = f"/tmp/copilot-socket-{uuid.uuid4().hex[:8]}.sock"
    abstract = f"\0copilot-abstract-{uuid.uuid4().hex[:8]}"
    servers = []
    for address in (path, abstract):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(address)
        server.listen(1)
        servers.append(server)
    code = textwrap.dedent(f"""
        import socket
        for address in ({path!r}, {abstract!r}):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                client.connect(address)
                print("connected", repr(address))
            except OSError as error:
                print("refused", type(error).__name__)
    """)
    (tmp_path / "connect.py").write_text(code)
    try:
        result = box.run("python connect.py", tmp_path)
    finally:
        for server in servers:
            server.close()
        Path(path).unlink(missing_ok=True)
    assert result.ok and "connected" not in result.stdout_tail
    assert result.stdout_tail.count("refused") == 2


# -- finding 4: reads outside the allowlist ---------------------------------------------------------------------------
def test_only_the_allowlist_is_readable(box, tmp_path):
    """Secrets in a home folder, a .env, another task's answers, another checkout and a repository's history: none
    is in the view; the real home folder and this repository show at most the interpreter's folders."""
    home, other, checkout = tmp_path / "home", tmp_path / "tasks" / "other", tmp_path / "checkout"
    (home / ".config").mkdir(parents=True)
    (home / ".netrc").write_text("machine example.com password SECRET-NETRC\n")
    (home / ".config" / "token").write_text("SECRET-CONFIG\n")
    (tmp_path / ".env").write_text("OPENAI_API_KEY=SECRET-DOTENV\n")
    other.mkdir(parents=True)
    (other / "test_labels.csv").write_text("id,label\n0,SECRET-ANSWER\n")
    checkout.mkdir()
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    (checkout / "answers.csv").write_text("SECRET-HISTORY\n")
    subprocess.run(["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t", "add", "."], check=True)
    subprocess.run(["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a"],
                   check=True)
    (checkout / "answers.csv").unlink()
    work = tmp_path / "work"
    work.mkdir()
    command = (f"cat {home}/.netrc {home}/.config/token {tmp_path}/.env {other}/test_labels.csv; "
               f"git -C {checkout} show HEAD:answers.csv; cat ~/.netrc; "
               f"cat {REPO}/.env {REPO}/workspaces/tabular-digits/data/test_labels.csv | head -3; "
               f"git -C {REPO} show HEAD:workspaces/tabular-digits/data/test_labels.csv | head -3; "
               f"echo listing; ls -A {Path.home()}; echo repo; ls -A {REPO}")
    result = box.run(command, work)
    assert "SECRET" not in result.stdout_tail, result.stdout_tail
    assert "id,label" not in result.stdout_tail
    home_listing = result.stdout_tail.split("listing\n")[1].split("repo\n")[0].split()
    interpreter_parts = {Path(p).relative_to(Path.home()).parts[0] for p in (sys.prefix, sys.base_prefix)
                         if Path(p).is_relative_to(Path.home())}
    assert set(home_listing) <= interpreter_parts | {"home"}, home_listing
    repo_listing = set(result.stdout_tail.split("repo\n")[1].split())
    venv = {Path(sys.prefix).relative_to(REPO).parts[0]} if Path(sys.prefix).is_relative_to(REPO) else set()
    assert repo_listing <= venv, repo_listing
    assert not {"workspaces", "scripts", ".git", "problems", ".env"} & repo_listing


# -- finding 9: processes and disk -------------------------------------------------------------------------------------
FORKS = """import os, sys, time
token, started = sys.argv[1], 0
for _ in range(500):
    try:
        pid = os.fork()
    except OSError as error:
        print("fork refused:", error, flush=True)
        break
    if pid == 0:
        os.execv("/bin/sleep", ["/bin/sleep", token])
    started += 1
    open("started.tmp", "w").write(str(started))
    os.replace("started.tmp", "started.txt")
time.sleep(5)
"""


@pytest.mark.parametrize("cgroup", [True, False], ids=["cgroup-if-possible", "watchdog"])
def test_the_number_of_processes_is_limited(tmp_path, cgroup):
    """Forks beyond the limit fail (a cgroup's pids.max, or RLIMIT_NPROC in the command's own user namespace), or the
    watchdog kills the tree as soon as it holds more (for root without a cgroup, whom RLIMIT_NPROC does not bind)."""
    box = LocalSandbox(max_processes=40, timeout_s=60, cgroup=cgroup)
    token = f"30.{uuid.uuid4().int % 10**9:09d}"  # sleep's argument: how the host finds the children
    (tmp_path / "forks.py").write_text(FORKS)
    result = box.run(f"python forks.py {token}", tmp_path)
    started = int((tmp_path / "started.txt").read_text())
    if "more than the limit of 40; it was killed" in (result.notice or ""):
        assert started < 250 and result.reason == "killed", result  # the watchdog samples every 50 ms
    else:
        assert started <= 40 + 5 and "limit of 40 refused" in (result.notice or ""), result
    assert wait_until(lambda: running(f"sleep {token}") == [], 3.0)


def test_the_disk_use_of_the_workspace_is_limited(tmp_path):
    box = LocalSandbox(max_disk_mb=20, max_file_mb=8, timeout_s=60)
    code = ("import time\nfor i in range(20):\n    open(f'chunk{i}.bin', 'wb').write(b'0' * 5 * 2**20)\n"
            "    time.sleep(0.1)\nprint('wrote 100 MB')\n")
    (tmp_path / "fill.py").write_text(code)
    result = box.run("python fill.py", tmp_path)
    assert result.reason == "killed" and "disk limit of 20 MB" in (result.notice or ""), result
    written = sum(p.stat().st_size for p in tmp_path.glob("chunk*.bin"))
    assert written < 40 * 2**20 and "wrote 100 MB" not in result.stdout_tail
    quick = box.run("head -c 7000000 /dev/zero > a.bin; head -c 7000000 /dev/zero > b.bin; "
                    "head -c 7000000 /dev/zero > c.bin", tmp_path / "quick" if (tmp_path / "quick").mkdir() is None
                    else tmp_path)
    assert quick.reason == "killed" and "disk limit" in (quick.notice or ""), quick


def test_exposed_resources_are_readable_and_links_in_them_lead_nowhere(box, tmp_path):
    """A model in the Hugging Face cache layout reads through its snapshot's links into the blobs; a cloned
    repository's link to a secret outside does not make the secret readable."""
    repo = tmp_path / "hf" / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / "abc123").write_text('{"hidden_size": 8}')
    snapshot = repo / "snapshots" / "rev1"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").symlink_to("../../blobs/abc123")
    (tmp_path / "secret.txt").write_text("SECRET-LINKED\n")
    clone = tmp_path / "clones" / "proto"
    clone.mkdir(parents=True)
    (clone / "model.py").write_text("print('prototype')\n")
    (clone / "notes.txt").symlink_to(tmp_path / "secret.txt")
    box.expose([snapshot, clone])
    work = tmp_path / "work"
    work.mkdir()
    result = box.run(f"cat {snapshot}/config.json; echo; python {clone}/model.py; cat {clone}/notes.txt", work)
    assert '{"hidden_size": 8}' in result.stdout_tail and "prototype" in result.stdout_tail
    assert "SECRET" not in result.stdout_tail and "No such file" in result.stderr_tail
