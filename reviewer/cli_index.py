"""`reviewer index build | info | calibrate`: the embedding index over the guidance corpus.

`info` reads the cache's metadata only (no torch, no faiss), so it answers at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

index_app = typer.Typer(no_args_is_help=True, help="The guidance embedding index (retrieval and semantic engine).")
out = Console(highlight=False, soft_wrap=True)
EMBEDDER = typer.Option(None, "--embedder", help="A local sentence-transformers directory "
                        "(default: REVIEWER_EMBEDDER or the bundled all-MiniLM-L6-v2).")


def _summary(meta: dict) -> dict:
    keep = ("model_id", "model_dir", "dim", "paragraphs", "examples", "key", "built_at",
            "build_seconds", "index_bytes", "libraries")
    return {k: meta.get(k) for k in keep}


@index_app.command("build")
def build(
    embedder: str | None = EMBEDDER,
    force: bool = typer.Option(False, "--force", help="Rebuild even if the cache is valid."),
) -> None:
    """Build (or verify and reuse) the index and write it to the cache."""
    import time

    from reviewer.retrieval import store

    t0 = time.perf_counter()
    ix = store.load(embedder, rebuild=force, with_embedder=False)
    seconds = time.perf_counter() - t0
    verb = "reused valid cache" if ix.origin == "cache" else "built"
    out.print(f"{verb}: {ix.meta['model_id']}, {ix.meta['dim']} dims, {ix.meta['paragraphs']} paragraphs, "
              f"{ix.meta['examples']} examples, {ix.faiss_index.ntotal} vectors ({seconds:.1f} s)")
    out.print(f"cache: {store.store_dir()}" if ix.saved is None else f"warning: {ix.saved}")


@index_app.command("info")
def info(
    embedder: str | None = EMBEDDER,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Model, dimensions, paragraph count, hash and build time of the cached index."""
    from reviewer.errors import EngineUnavailable
    from reviewer.retrieval import embedder as emb
    from reviewer.retrieval import store, thresholds

    meta = store.read_meta()
    report: dict = {"cache": str(store.store_dir()), "index": _summary(meta) if meta else None}
    try:
        expected = store.cache_key(emb.model_id(emb.resolve_model_dir(embedder)))
        report["state"] = "missing" if meta is None else ("valid" if meta.get("key") == expected else "stale")
    except EngineUnavailable as exc:
        report["state"] = f"model unavailable: {exc}"
    try:
        cal = thresholds.load(with_model=False)
        report["thresholds"] = {"file": str(thresholds.thresholds_path()), "model_id": cal.get("model_id"),
                                "calibrated_on": cal.get("calibrated_on"),
                                "encoder": _encoder_words(cal.get("tuning")),
                                "topics": cal["threshold"]}
    except Exception as exc:  # noqa: BLE001 - info reports, it does not fail
        report["thresholds"] = f"unavailable: {exc}"
    if as_json:
        print(json.dumps(report, indent=1))
        return
    out.print(f"cache:     {report['cache']} ({report['state']})")
    if meta:
        s = report["index"]
        out.print(f"model:     {s['model_id']}  ({s['model_dir']})")
        out.print(f"vectors:   {s['dim']} dims; {s['paragraphs']} paragraphs, {s['examples']} examples")
        out.print(f"hash:      {s['key']}")
        out.print(f"built:     {s['built_at']} in {s['build_seconds']} s")
    else:
        out.print("no index built yet: run `reviewer index build`")
    t = report["thresholds"]
    if isinstance(t, dict):
        out.print(f"semantic:  thresholds for {len(t['topics'])} topics, calibrated on "
                  f"{t['calibrated_on']} for {t['model_id']}; encoder: {t['encoder']}")
    else:
        out.print(f"semantic:  {t}")


def _encoder_words(tuning: dict | None) -> str:
    if not tuning:
        return "the index's own (not fine-tuned)"
    return f"top {tuning.get('layers')} layers fine-tuned ({tuning.get('file')}, sha256 {tuning.get('sha256', '')[:12]})"


@index_app.command("calibrate")
def calibrate(
    data: Path = typer.Argument(..., help="The labelled dev split (tests/data/dev.jsonl); never the test split."),
    embedder: str | None = EMBEDDER,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the thresholds without saving them."),
    tune: bool = typer.Option(True, "--tune/--no-tune",
                              help="Fine-tune the encoder's top layers first (the shipped recipe; "
                                   "~26 min on 2 cores for the dev split). --no-tune: minutes."),
) -> None:
    """Fit the semantic engine's classifiers and thresholds; save them to index/semantic*.{json,npz}."""
    from reviewer.retrieval import calibrate as cal
    from reviewer.retrieval import thresholds

    result = cal.calibrate(data, embedder, tune=tune)
    for topic, v in result.doc["topics"].items():
        out.print(f"{topic:16} threshold {v['threshold']:.4f}  out-of-fold AUC {v.get('auc')}  F1 {v.get('f1')}")
    if not dry_run:
        saved = thresholds.save(result.doc, result.kernel, tuned=result.tuned.arrays if result.tuned else None)
        out.print(f"saved: {saved}")
