"""Where the data folders live: the repository root (editable install) or REVIEWER_HOME."""

import os
from pathlib import Path


def home() -> Path:
    env = os.environ.get("REVIEWER_HOME")
    return Path(env) if env else Path(__file__).resolve().parent.parent


def rules_dir() -> Path:
    return Path(os.environ.get("REVIEWER_RULES", home() / "rules"))


def index_dir() -> Path:
    return Path(os.environ.get("REVIEWER_INDEX", home() / "index"))


def prompts_dir() -> Path:
    return home() / "prompts"


def cache_dir() -> Path:
    """Derived artefacts (embedding index). Never holds user text."""
    return Path(os.environ.get("REVIEWER_CACHE", index_dir() / "cache"))
