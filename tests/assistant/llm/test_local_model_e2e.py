"""The real Qwen2.5-Coder-0.5B-Instruct model, assembled from its part packages and run end to end.

Needs the `llm` extra (llama-cpp-python) and the `local-llm-small` extra (the six part packages);
without them the tests skip, unless HANDBOOK_REQUIRE_LLM_TESTS=1 (CI), where they fail. The GGUF is
assembled once into HANDBOOK_LLM_MODEL_DIR (default ~/.cache/handbook-assistant/models; CI keeps it
beside the llama.cpp wheel) and reused after its size and hash record are checked.

What the model writes is not asserted: a 0.5B model's wording varies and is often wrong. What is
asserted is the structure: the setting reaches the model, the chat template comes from the GGUF,
the model answers within the time limit, and whatever it wrote went through the citation check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pdf_factory import make_pdf, sample_rules_pages

from assistant.answer.decision import AnswerabilityPolicy
from assistant.chain import Assistant
from assistant.llm.citation_check import MARKER, split_generated
from assistant.llm.local_models import LOCAL_MODELS, assemble, check_header, missing_parts
from assistant.retrieval import HybridRetriever
from assistant.settings import LLMSettings, Settings
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor
from ingest.settings import IngestSettings

pytestmark = [pytest.mark.llm, pytest.mark.integration, pytest.mark.slow]

MODEL = "qwen2.5-coder-0.5b"
QUESTION = "Can prisoners communicate with their family by letter and visit?"


@pytest.fixture(scope="module")
def small_model(llama_cpp_module: Any) -> Path:
    spec = LOCAL_MODELS[MODEL]
    missing = missing_parts(spec)
    if missing:
        reason = missing[0] + (f" (and {len(missing) - 1} more parts)" if len(missing) > 1 else "")
        if os.environ.get("HANDBOOK_REQUIRE_LLM_TESTS", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason}; HANDBOOK_REQUIRE_LLM_TESTS=1 requires it", pytrace=False)
        pytest.skip(reason)
    return assemble(spec, LLMSettings().model_dir)


@pytest.fixture(scope="module")
def rules_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fakes import FakeEmbedder

    root = tmp_path_factory.mktemp("local-llm-rules")
    make_pdf(root / "pdf" / "rules.pdf", sample_rules_pages())
    Ingestor(root / "index", FakeEmbedder(), progress=False).run([root / "pdf"])  # type: ignore[arg-type]
    return root / "index"


def test_the_assembled_file_is_the_pinned_one(small_model: Path) -> None:
    spec = LOCAL_MODELS[MODEL]
    assert small_model.name == "qwen2.5-coder-0.5b.gguf" and small_model.stat().st_size == spec.size
    assert check_header(small_model, spec).values["general.name"] == "Qwen2.5 Coder 0.5B Instruct AWQ"
    assert assemble(spec, small_model.parent) == small_model  # reused, not rebuilt


@pytest.mark.heavy(13)
def test_a_question_through_the_generated_answer_route(
    small_model: Path, rules_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes import FakeEmbedder

    # The setting as a deployment writes it; generous time, since CI machines are slow and busy.
    monkeypatch.setenv("HANDBOOK_LLM", f"local:{MODEL}")
    monkeypatch.setenv("HANDBOOK_LLM_MODEL_DIR", str(small_model.parent))
    monkeypatch.setenv("HANDBOOK_LLM_TIMEOUT_S", "600")
    monkeypatch.setenv("HANDBOOK_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("HANDBOOK_LLM_MAX_TOKENS", "160")
    monkeypatch.setenv("HANDBOOK_LLM_THREADS", str(min(os.cpu_count() or 1, 4)))
    settings = Settings(ingest=IngestSettings(index_dir=rules_index), llm=LLMSettings())
    retriever = HybridRetriever.build(IndexSnapshot.open(rules_index), FakeEmbedder())  # type: ignore[arg-type]
    assistant = Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))
    assistant.use_language_model(settings)

    generator = assistant.generator
    assert generator is not None
    client = generator.chat_model.client  # the llama_cpp.Llama the route talks to
    assert client.chat_format == "chat_template.default"  # the GGUF's own template, not a guessed one
    assert "<|im_start|>" in client.metadata["tokenizer.chat_template"]

    answer = assistant.ask(QUESTION)
    assert answer.model == f"local:{MODEL}"
    assert answer.timings_ms["generate"] > 0
    # The model ran and answered in time: any fallback is the citation check's doing.
    for failure in ("failed", "did not answer", "could not be reached"):
        assert failure not in answer.note
    assert answer.citations and not answer.refused
    numbers = {c.n for c in answer.citations}
    if answer.mode == "generated":
        sentences = split_generated(answer.generated)
        assert sentences
        for sentence in sentences:  # every shown sentence points at a shown, verified citation
            cited = {int(n) for n in MARKER.findall(sentence)}
            assert cited and cited <= numbers, sentence
    elif answer.lead_kind == "generated":
        assert answer.lead
        for lead in answer.lead:
            assert {lead.n, *lead.also} <= numbers
    else:
        assert answer.note  # the extractive answer stands, and says why the model's did not
        assert answer.generated_text() == ""
