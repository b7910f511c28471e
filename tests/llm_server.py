"""A real local language-model server for tests: a tiny random-weight GGUF and llama-cpp-python's server.

`write_tiny_gguf` writes a LLaMA-architecture model of well under a megabyte (2 blocks, 64-wide, a small
SentencePiece-style vocabulary with byte fallback and a ChatML chat template). Its output is noise, but it
loads in llama.cpp and exercises the whole path: tokenizer, chat template, sampling, HTTP and SSE.

`LlamaServer` runs `python -m llama_cpp.server` on that model as a subprocess on a free local port and
exposes the OpenAI-compatible endpoint as `.base_url` ("http://127.0.0.1:PORT/v1") with the model `.model`.

Nothing here imports llama_cpp at import time; `llama_cpp_available()` says whether it can be used.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

MODEL_ALIAS = "tiny"

# Model shape: small enough to write and load in well under a second.
N_EMBD = 64
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = N_EMBD // N_HEAD
N_FF = 176
N_LAYER = 2
N_CTX_TRAIN = 8192  # room for a prompt of five passages in the tiny, byte-heavy vocabulary

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Word pieces for the vocabulary ("▁" marks a word start, as in SentencePiece).
_WORD_TEXT = """
the of and to a in is that for it as was with be by on not he this are or his from at which but have an they
you were her she there one all we their has been if more when will would who so no can said what up its about
into than them only other new some could time these two may then do first any my now such like our over man me
even most made after also did many before must through back years where much your way well down should because
each just those people how too little state good very make world still own see men work long get here between
both life being under never day same another know while last might us great old year off come since against go
came right used take three staff prison prisoner prisoners officer officers visit visits visitor search rule rules
cell cells wing safety security health care time order report record duty handbook standard standards manager
governor review risk must shall policy process support request form incident use force authority hearing
adjudication property letter letters call calls phone family legal medical nurse doctor food meal exercise
library education work training release transfer court hours night morning daily weekly month staffed unlock
lock key keys alarm emergency fire evacuation count roll check checks searched entry exit gate gates reception
"""
_WORDS = _WORD_TEXT.split()
_LETTERS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()-")


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types of a llama (SPM) vocabulary with byte fallback."""
    import gguf

    tokens: list[str] = ["<unk>", "<s>", "</s>"]
    scores: list[float] = [0.0, 0.0, 0.0]
    types: list[int] = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    for byte in range(256):
        tokens.append(f"<0x{byte:02X}>")
        scores.append(0.0)
        types.append(gguf.TokenType.BYTE)
    for special in ("<|im_start|>", "<|im_end|>"):
        tokens.append(special)
        scores.append(0.0)
        types.append(gguf.TokenType.CONTROL)
    pieces: list[str] = ["▁", *_LETTERS, *(f"▁{c}" for c in _LETTERS)]
    for word in dict.fromkeys(_WORDS):  # keep order, drop duplicates
        pieces.append(f"▁{word}")
        pieces.append(word)
    seen = set(tokens)
    rank = 0
    for piece in pieces:
        if piece in seen:
            continue
        seen.add(piece)
        tokens.append(piece)
        # SPM merges prefer higher scores; longer pieces score higher so whole words win over letters.
        scores.append(-1000.0 + 10.0 * len(piece) - rank * 1e-3)
        types.append(gguf.TokenType.NORMAL)
        rank += 1
    return tokens, scores, [int(t) for t in types]


def write_tiny_gguf(path: Path, seed: int = 0) -> Path:
    """Write a tiny random-weight LLaMA GGUF model to `path` and return the path.

    Weights are F32 from `numpy.random.default_rng(seed)`, so the file is identical for the same seed.
    """
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocabulary()
    n_vocab = len(tokens)

    def rand(*shape: int, std: float = 0.02) -> Any:
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name("handbook-tiny-random-llama")
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHATML_TEMPLATE)

    # numpy shapes are the reverse of ggml's (ne0 first): token_embd is ggml {n_embd, n_vocab}, etc.
    t = gguf.MODEL_TENSOR

    def weight(tensor: Any, bid: int | None = None) -> str:
        name: str = gguf.TENSOR_NAMES[tensor]
        return (name.format(bid=bid) if bid is not None else name) + ".weight"

    writer.add_tensor(weight(t.TOKEN_EMBD), rand(n_vocab, N_EMBD, std=1.0))
    for bid in range(N_LAYER):
        writer.add_tensor(weight(t.ATTN_NORM, bid), np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(weight(t.ATTN_Q, bid), rand(N_HEAD * HEAD_DIM, N_EMBD))
        writer.add_tensor(weight(t.ATTN_K, bid), rand(N_HEAD_KV * HEAD_DIM, N_EMBD))
        writer.add_tensor(weight(t.ATTN_V, bid), rand(N_HEAD_KV * HEAD_DIM, N_EMBD))
        writer.add_tensor(weight(t.ATTN_OUT, bid), rand(N_EMBD, N_HEAD * HEAD_DIM))
        writer.add_tensor(weight(t.FFN_NORM, bid), np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(weight(t.FFN_GATE, bid), rand(N_FF, N_EMBD))
        writer.add_tensor(weight(t.FFN_UP, bid), rand(N_FF, N_EMBD))
        writer.add_tensor(weight(t.FFN_DOWN, bid), rand(N_EMBD, N_FF))
    writer.add_tensor(weight(t.OUTPUT_NORM), np.ones(N_EMBD, dtype=np.float32))
    # Output head: only the NORMAL (word-piece) rows are non-zero, and large enough that sampling almost
    # always picks a word piece. Byte, control and EOS rows stay zero, so the noise is readable text and
    # generation runs until max_tokens instead of stopping at once.
    output = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    normal = np.array([ty == int(gguf.TokenType.NORMAL) for ty in types])
    output[normal] = rand(int(normal.sum()), N_EMBD, std=0.5)
    writer.add_tensor(weight(t.OUTPUT), output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


_SERVER_MODULES = ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


def llama_cpp_available(server: bool = True) -> bool:
    """Whether llama_cpp imports (its shared library loads) and, with `server`, its server extra is there."""
    try:
        importlib.import_module("llama_cpp")
    except Exception:  # ImportError, or OSError/RuntimeError when the shared library fails to load
        return False
    return not server or all(importlib.util.find_spec(name) is not None for name in _SERVER_MODULES)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServerError(RuntimeError):
    pass


class LlamaServer:
    """`with LlamaServer(model_path) as server:` runs llama-cpp-python's OpenAI-compatible server.

    Attributes: `base_url` ("http://127.0.0.1:PORT/v1"), `model` (the alias, "tiny"), `port`, `process`,
    `log_path` (the server's combined stdout/stderr; a temporary one, removed on stop, unless given) and
    `startup_seconds`. A server that exits or is not ready within `startup_timeout` raises
    `LlamaServerError` with the tail of its log.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        alias: str = MODEL_ALIAS,
        n_ctx: int = N_CTX_TRAIN,
        n_threads: int = 1,
        chat_format: str | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float = 60.0,
        stop_grace: float = 10.0,
        log_path: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.model = alias
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.startup_seconds: float | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._owns_log = log_path is None  # a temporary log is removed on stop
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self.log_path = Path(log_path)
        self.command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(n_ctx),
            "--n_threads", str(n_threads),
            "--model_alias", alias,
        ]  # fmt: skip
        if chat_format:
            self.command += ["--chat_format", chat_format]
        self.command += list(extra_args or [])

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> LlamaServer:
        if self.process is not None:
            raise LlamaServerError("server already started")
        self._log_file = self.log_path.open("wb")
        started = time.monotonic()
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, started: float) -> None:
        assert self.process is not None
        deadline = started + self.startup_timeout
        url = f"{self.base_url}/models"
        while True:
            code = self.process.poll()
            if code is not None:
                raise LlamaServerError(
                    f"llama_cpp.server exited with status {code} before it was ready.\n"
                    f"command: {' '.join(self.command)}\n--- server log (tail) ---\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LlamaServerError(
                    f"llama_cpp.server not ready at {url} after {self.startup_timeout:.0f} s.\n"
                    f"--- server log (tail) ---\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._owns_log:
            self.log_path.unlink(missing_ok=True)

    def log_tail(self, max_chars: int = 4000) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return text[-max_chars:]

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
