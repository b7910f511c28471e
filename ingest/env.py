"""Process-wide switches that keep every library offline and silent.

Set at import time of the packages, before any heavy library is imported, because
these libraries read the variables once when they load.
"""

import logging
import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


QUIET_LOGGERS = ("bm25s", "chromadb", "httpx", "sentence_transformers", "transformers", "urllib3")


def apply_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    # These libraries log routine steps at INFO/DEBUG; the CLI's --verbose still shows ours.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
