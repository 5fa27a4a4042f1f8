"""Symbolic links and modes that experiment code leaves in its workspace (issue 17, finding 7): recorded as links,
never followed by copilot (which runs outside the sandbox), never a crash; a read-only file's mode is checked too."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from copilot.execution.snapshots import clean_copy, restore_snapshot, take_snapshot
from copilot.experiment.workspace import Workspace, WorkspaceError
from tests.test_measure import HONEST, measure_current, toy_loop


def tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_links_leading_out_are_listed_and_diffed_as_links_and_never_crash_a_step(tmp_path):
    source, outside = tmp_path / "starter", tmp_path / "outside"
    tree(source, {"train.py": "print(1)\n", "data/x.csv": "a\n1\n"})
    tree(outside, {"secret.txt": "SECRET\n"})
    ws = Workspace.create(source, tmp_path / "run" / "workspace", traces_dir=tmp_path / "run" / "traces")
    ws.begin_step(1)
    os.symlink(outside / "secret.txt", ws.root / "leak.txt")
    os.symlink(outside, ws.root / "out")
    os.symlink("missing-target", ws.root / "dangling")
    summary = ws.end_step(1)
    assert f"leak.txt -> {outside / 'secret.txt'} (link)" in summary and f"out -> {outside} (link)" in summary
    assert "dangling -> missing-target (link)" in summary and "SECRET" not in summary
    diff = (tmp_path / "run" / "traces" / "step_1" / "changes.diff").read_text()
    assert "SECRET" not in diff
    listing = ws.list_files()
    assert f"leak.txt -> {outside / 'secret.txt'} (link)" in listing and "train.py (9 bytes)" in listing
    with pytest.raises(WorkspaceError, match="leads outside the workspace"):
        ws.read_file("leak.txt")
    ws.begin_step(2)  # the workspace stays usable
    (ws.root / "train.py").write_text("print(2)\n")
    assert ws.end_step(2) == "changed train.py"


def test_a_restore_never_writes_through_a_link(tmp_path):
    """train.py replaced by a link to an outside file made the restore chmod that file (0600 -> 0644); a folder
    replaced by a link made it write into the folder the link leads to."""
    source, work, outside = tmp_path / "starter", tmp_path / "work", tmp_path / "outside"
    tree(source, {"train.py": "v1\n", "data/x.csv": "a\n"})
    tree(outside, {"private.key": "KEY\n", "x.csv": "theirs\n"})
    (outside / "private.key").chmod(0o600)
    clean_copy(source, None, work)
    (work / "data" / "x.csv").write_text("b\n")
    snapshot = tmp_path / "snap"
    take_snapshot(work, source, snapshot)
    (work / "train.py").unlink()
    os.symlink(outside / "private.key", work / "train.py")
    os.rename(work / "data", work / "moved")
    os.symlink(outside, work / "data")
    restore_snapshot(work, source, snapshot)
    assert stat.S_IMODE((outside / "private.key").stat().st_mode) == 0o600
    assert (outside / "private.key").read_text() == "KEY\n" and (outside / "x.csv").read_text() == "theirs\n"
    assert not (work / "train.py").is_symlink() and (work / "train.py").read_text() == "v1\n"
    assert not (work / "data").is_symlink() and (work / "data" / "x.csv").read_text() == "b\n"
    assert not (work / "moved").exists() or not any((work / "moved").iterdir())


def test_links_are_recorded_in_snapshots_and_made_again_as_links(tmp_path):
    source, work = tmp_path / "starter", tmp_path / "work"
    tree(source, {"train.py": "v1\n"})
    clean_copy(source, None, work)
    os.symlink("train.py", work / "alias.py")
    os.symlink("/etc/hostname", work / "host.txt")
    manifest = take_snapshot(work, source, tmp_path / "snap")
    assert manifest["links"] == {"alias.py": "train.py", "host.txt": "/etc/hostname"}
    assert manifest["changed"] == [] and not (tmp_path / "snap" / "files" / "host.txt").exists()
    restore_snapshot(work, source, None)
    assert not os.path.lexists(work / "alias.py") and not os.path.lexists(work / "host.txt")
    copy = clean_copy(source, tmp_path / "snap", tmp_path / "verify")
    assert os.readlink(copy / "alias.py") == "train.py" and os.readlink(copy / "host.txt") == "/etc/hostname"


def test_links_made_before_and_during_an_experiment_go_through_the_loop(tmp_path):
    """A link the agent's commands made is part of the attempt's code (its snapshot records it as a link); one the
    experiment made is an output, gone when the next attempt's code is restored."""
    from copilot.execution.policies.base import NextStep
    from tests.test_measure import run_attempt

    loop = toy_loop(tmp_path, HONEST)
    baseline = loop.run_baseline()
    os.symlink("/etc/hostname", loop.workspace / "peek.txt")
    attempt = measure_current(loop, "import os\nos.symlink('/etc/passwd', 'made.txt')\n" + HONEST)
    assert attempt.status == "ok" and attempt.metric == pytest.approx(0.75), attempt.error
    manifest = json.loads(loop.rundir.path("attempts", attempt.id, "snapshot", "manifest.json").read_text())
    assert manifest["links"] == {"peek.txt": "/etc/hostname"}
    assert os.path.islink(loop.workspace / "made.txt")
    seen = []
    run_attempt(loop, NextStep(kind="improve", parent=baseline.id), "again",
                lambda *_: (seen.append(sorted(p.name for p in loop.workspace.iterdir())), ("", None))[1])
    assert "made.txt" not in seen[0] and "peek.txt" not in seen[0]


@pytest.mark.parametrize("change", ["chmod", "link"])
def test_a_read_only_files_mode_or_a_link_in_its_place_is_tampering(tmp_path, change):
    code = {"chmod": "import os\nos.chmod('evaluate.py', 0o666)\n",
            "link": "import os, shutil\nshutil.copy('evaluate.py', 'copy.py')\nos.remove('evaluate.py')\n"
                    "os.symlink('copy.py', 'evaluate.py')\n"}[change]
    loop = toy_loop(tmp_path, HONEST)
    attempt = measure_current(loop, code + HONEST)
    assert attempt.status == "invalid" and "read-only files: evaluate.py (restored)" in attempt.error
    restored = loop.workspace / "evaluate.py"
    assert not restored.is_symlink() and stat.S_IMODE(restored.stat().st_mode) == 0o444
    assert restored.read_bytes() == (loop.task.workspace / "evaluate.py").read_bytes()
