"""Force every library we load into offline mode before it is imported.

Set at package import, so no code path (CLI, UI, tests, a user's script) can reach a
model hub or an analytics endpoint by forgetting a flag.
"""

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def enforce() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def report() -> dict[str, str]:
    return {key: os.environ.get(key, "") for key in OFFLINE_ENV}
