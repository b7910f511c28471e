"""The local language-model test wiring: a tiny random GGUF served by llama-cpp-python over real HTTP.

The model's output is noise; these tests prove only that the model loads, the chat template applies and the
OpenAI-compatible endpoints answer, plain and streamed.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from llm_server import LlamaServer, write_tiny_gguf

MESSAGES = [
    {"role": "system", "content": "You answer questions about the prison handbook."},
    {"role": "user", "content": "When are visitors searched?"},
]


@pytest.mark.unit
def test_write_tiny_gguf_reads_back_as_llama(tmp_path: Path) -> None:
    import gguf

    path = write_tiny_gguf(tmp_path / "tiny.gguf", seed=3)

    assert path.stat().st_size < 5_000_000
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.architecture"].contents() == "llama"
    assert reader.fields["llama.block_count"].contents() == 2
    assert "<|im_start|>" in reader.fields["tokenizer.chat_template"].contents()
    names = {tensor.name for tensor in reader.tensors}
    assert {"token_embd.weight", "output_norm.weight", "output.weight"} <= names
    assert {f"blk.1.{part}.weight" for part in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_down")} <= names
    # Same seed, same bytes.
    assert write_tiny_gguf(tmp_path / "again.gguf", seed=3).read_bytes() == path.read_bytes()


@pytest.mark.llm
@pytest.mark.integration
def test_server_lists_the_alias(llama_server: LlamaServer) -> None:
    response = httpx.get(f"{llama_server.base_url}/models", timeout=10)

    response.raise_for_status()
    assert [model["id"] for model in response.json()["data"]] == [llama_server.model]
    assert llama_server.base_url.startswith("http://127.0.0.1:")


@pytest.mark.llm
@pytest.mark.integration
def test_chat_completion_returns_text(llama_server: LlamaServer) -> None:
    response = httpx.post(
        f"{llama_server.base_url}/chat/completions",
        json={"model": llama_server.model, "messages": MESSAGES, "max_tokens": 16, "temperature": 0, "seed": 0},
        timeout=60,
    )

    response.raise_for_status()
    body = response.json()
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["finish_reason"] in {"length", "stop"}
    assert 0 < body["usage"]["completion_tokens"] <= 16
    assert body["usage"]["prompt_tokens"] > 0


@pytest.mark.llm
@pytest.mark.integration
def test_streamed_chat_completion_delivers_sse_chunks(llama_server: LlamaServer) -> None:
    request = {"model": llama_server.model, "messages": MESSAGES, "max_tokens": 12, "temperature": 0, "stream": True}
    chunks: list[dict] = []
    done = False
    with httpx.stream("POST", f"{llama_server.base_url}/chat/completions", json=request, timeout=60) as response:
        response.raise_for_status()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line.removeprefix("data:").strip()
            if data == "[DONE]":
                done = True
                break
            chunks.append(json.loads(data))

    assert done
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) >= 3
    assert text.strip()


@pytest.mark.llm
@pytest.mark.integration
def test_gguf_loads_in_process(llama_cpp_module: ModuleType, tiny_gguf: Path) -> None:
    model = llama_cpp_module.Llama(model_path=str(tiny_gguf), n_ctx=512, n_threads=1, verbose=False, seed=0)
    try:
        result = model.create_chat_completion(messages=MESSAGES, max_tokens=16, temperature=0)
    finally:
        model.close()

    content = result["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    assert content.strip()
