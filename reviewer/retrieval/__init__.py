"""Retrieval of the relevant guidance: sentence-transformers embeddings + a FAISS index.

Nothing heavy is imported here: torch, sentence-transformers and faiss load on first use.
"""

from reviewer.retrieval.search import Retrieved, Retriever, retrieve

__all__ = ["Retrieved", "Retriever", "retrieve"]
