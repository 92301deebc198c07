"""The FAISS index over guidance paragraphs and bank examples, cached on disk.

The cache (paths.cache_dir()/retrieval/) is keyed by a hash of the corpus, the example
bank, the model id and the library versions. It is only trusted when the key matches
and the index file's checksum, size and dimensions check out; otherwise it is rebuilt.
A failed write (read-only or full disk) leaves the freshly built index in memory.
The cache holds shipped data only, never draft text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from reviewer import guidance, paths
from reviewer.retrieval import bank as bank_mod
from reviewer.retrieval import documents
from reviewer.retrieval.embedder import Embedder, resolve_model_dir
from reviewer.retrieval.embedder import load as load_embedder
from reviewer.retrieval.embedder import model_id as model_id_of

log = logging.getLogger(__name__)
FORMAT = 1  # bump when the row layout changes
LIBRARIES = ("sentence-transformers", "transformers", "torch", "faiss-cpu", "numpy")
INDEX_FILE = "index.faiss"
META_FILE = "meta.json"


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def cache_key(model_id: str) -> str:
    h = hashlib.sha256()
    h.update(f"format={FORMAT}\n".encode())
    h.update(guidance.corpus_path().read_bytes())
    h.update(b"\0" + bank_mod.bank_path().read_bytes())
    h.update(f"\0{model_id}\0{json.dumps(library_versions(), sort_keys=True)}".encode())
    return h.hexdigest()


def store_dir() -> Path:
    return paths.cache_dir() / "retrieval"


@dataclass
class Index:
    """The searchable index plus its metadata; `rows[i]` describes vector i."""

    faiss_index: object
    rows: list[documents.Row]
    meta: dict
    embedder: Embedder | None = None
    origin: str = "built"  # "built" | "cache" (where this process got it from)
    saved: str | None = None  # None when written, else why the cache could not be written
    _kinds: dict = field(default_factory=dict, repr=False)

    def positions(self, kind: str) -> list[int]:
        if kind not in self._kinds:
            self._kinds[kind] = [i for i, r in enumerate(self.rows) if r.kind == kind]
        return self._kinds[kind]

    def vectors(self):
        return self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal)

    def scores(self, queries):
        """Cosine similarity of each query vector to every row: shape (n_queries, n_rows)."""
        import numpy as np

        n = self.faiss_index.ntotal
        sims, ids = self.faiss_index.search(queries, n)
        out = np.empty_like(sims)
        np.put_along_axis(out, ids, sims, axis=1)
        return out


def _build(emb: Embedder, key: str) -> Index:
    import faiss
    import numpy as np

    t0 = time.perf_counter()
    rows = documents.rows()
    # Vectors of shipped texts already embedded in this process are reused (a rebuild
    # after a corpus edit re-embeds only what changed); the memo never holds draft text.
    memo = _vectors.setdefault(emb.model_id, {})
    todo = [r.text for r in rows if r.text not in memo]
    for text, vec in zip(todo, emb.encode(todo)):
        memo[text] = vec
    vecs = np.stack([memo[r.text] for r in rows]).astype("float32")
    index = faiss.IndexFlatIP(emb.dim)
    index.add(vecs)
    seconds = time.perf_counter() - t0
    meta = {
        "format": FORMAT,
        "key": key,
        "model_id": emb.model_id,
        "model_dir": str(emb.model_dir),
        "dim": emb.dim,
        "paragraphs": len(guidance.load().paragraphs),
        "examples": sum(r.kind in ("breach", "near_miss") for r in rows),
        "rows": [r.to_json() for r in rows],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(seconds, 3),
        "libraries": library_versions(),
    }
    return Index(index, rows, meta, emb, origin="built")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save(ix: Index, where: Path) -> None:
    import faiss

    data = faiss.serialize_index(ix.faiss_index).tobytes()
    meta = dict(ix.meta, index_sha256=hashlib.sha256(data).hexdigest(), index_bytes=len(data))
    where.mkdir(parents=True, exist_ok=True)
    _atomic_write(where / INDEX_FILE, data)
    _atomic_write(where / META_FILE, json.dumps(meta, indent=1).encode())  # written last: commit
    ix.meta = meta


def read_meta(where: Path | None = None) -> dict | None:
    try:
        return json.loads(((where or store_dir()) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _load_cached(where: Path, key: str) -> Index | None:
    """The cached index if every check passes, else None (and the reason is logged)."""
    import faiss
    import numpy as np

    meta = read_meta(where)
    if meta is None:
        return None
    if meta.get("key") != key:
        log.info("retrieval cache is stale; rebuilding")
        return None
    try:
        data = (where / INDEX_FILE).read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.get("index_sha256"):
            raise ValueError("checksum mismatch")
        index = faiss.deserialize_index(np.frombuffer(data, dtype="uint8"))
        rows = [documents.Row(**r) for r in meta["rows"]]
        if index.ntotal != len(rows) or index.d != meta["dim"]:
            raise ValueError("size mismatch")
    except Exception as exc:  # noqa: BLE001 - a corrupt cache is rebuilt, never trusted
        log.warning("retrieval cache is corrupt (%s); rebuilding", exc.__class__.__name__)
        return None
    return Index(index, rows, meta, origin="cache")


_lock = threading.Lock()
_memo: dict[tuple[str, str], Index] = {}
_vectors: dict[str, dict[str, object]] = {}  # model id -> shipped text -> vector


def load(model: str | os.PathLike | None = None, *, rebuild: bool = False,
         with_embedder: bool = True) -> Index:
    """The index for the current corpus, bank and model: cached in memory once per process,
    read from disk when the cache is valid, otherwise built (and saved when possible)."""
    model_dir = resolve_model_dir(model).resolve()
    mid = model_id_of(model_dir)
    key = cache_key(mid)
    where = store_dir()
    with _lock:
        memo_key = (str(where), key)
        ix = None if rebuild else _memo.get(memo_key)
        if ix is None and not rebuild:
            ix = _load_cached(where, key)
        if ix is None:
            ix = _build(load_embedder(model_dir), key)
            try:
                _save(ix, where)
            except OSError as exc:
                ix.saved = f"cache not written ({exc.__class__.__name__}: {exc.strerror or exc})"
                log.warning("retrieval %s; keeping the index in memory", ix.saved)
        _memo[memo_key] = ix
        if with_embedder and ix.embedder is None:
            ix.embedder = load_embedder(model_dir)
        return ix


def forget() -> None:
    """Drop the in-process copies (tests)."""
    with _lock:
        _memo.clear()
