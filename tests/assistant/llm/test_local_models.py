"""Assembling a local model from part packages (assistant/llm/local_models.py), with small fake parts.

The fake parts are real installed distributions as far as `importlib.metadata` is concerned: a
`<name>.dist-info` folder and the slice beside it on a temporary `sys.path` entry, so the lookup,
the version pin, the streaming, the hashes, the header reader and the cache record all run for real.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.llm import local_models
from assistant.llm.backends import LLMConfigError, LLMOptions, LLMSpec, build_chat_model
from assistant.llm.local_models import (
    LOCAL_MODELS,
    GGUFHeaderError,
    LocalModelError,
    LocalModelSpec,
    ModelPart,
    assemble,
    missing_parts,
    read_gguf_header,
)

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[3]
NAME = "Fake Coder 0.1B Instruct"


def gguf_bytes(tmp: Path, architecture: str = "qwen2", name: str = NAME, magic: bytes = b"GGUF") -> bytes:
    """A GGUF header written by the `gguf` package (not by the reader under test), then filler bytes."""
    import gguf

    path = tmp / "header.gguf"
    writer = gguf.GGUFWriter(str(path), architecture)
    # Arrays and strings before general.name: the reader must skip them, not stop at them.
    writer.add_token_list(["<a>", "<b>", "<c>"])
    writer.add_token_types([1, 1, 3])
    writer.add_string("tokenizer.chat_template", "{{ messages }}")
    writer.add_name(name)
    writer.add_block_count(2)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    data = path.read_bytes()
    path.unlink()
    filler = random.Random(7).randbytes(3000)  # stands in for the tensors
    return magic + data[4:] + filler


def install_parts(root: Path, data: bytes, count: int = 3, prefix: str = "fake-model-part") -> tuple[ModelPart, ...]:
    """`count` fake part distributions of `data` under `root` (on sys.path via the `parts_path` fixture)."""
    size = -(-len(data) // count)
    parts = []
    for i in range(1, count + 1):
        piece = data[(i - 1) * size : i * size]
        module = f"{prefix.replace('-', '_')}{i}"
        (root / module / "data").mkdir(parents=True)
        (root / module / "data" / f"part{i:02d}.bin").write_bytes(piece)
        info = root / f"{module}-1.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {prefix}{i}\nVersion: 1.0.0\n")
        parts.append(
            ModelPart(
                f"{prefix}{i}", "1.0.0", f"{module}/data/part{i:02d}.bin", len(piece), hashlib.sha256(piece).hexdigest()
            )
        )
    return tuple(parts)


def spec_for(parts: tuple[ModelPart, ...], data: bytes, **changes: str) -> LocalModelSpec:
    spec = LocalModelSpec(
        name="fake-coder",
        extra="local-llm-small",
        parts=parts,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        architecture="qwen2",
        general_name=NAME,
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


@pytest.fixture
def parts_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


@pytest.fixture
def fake(parts_root: Path, tmp_path: Path) -> tuple[LocalModelSpec, bytes]:
    data = gguf_bytes(tmp_path)
    return spec_for(install_parts(parts_root, data), data), data


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_parts_are_joined_in_order_verified_and_renamed_into_place(
    fake: tuple[LocalModelSpec, bytes], tmp_path: Path
) -> None:
    spec, data = fake
    cache = tmp_path / "models"
    seen: list[tuple[int, int]] = []
    path = assemble(spec, cache, progress=lambda done, total: seen.append((done, total)))
    assert path == cache / "fake-coder.gguf"
    assert path.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    assert leftovers(cache) == []
    assert read_gguf_header(path).values == {"general.architecture": "qwen2", "general.name": NAME}


def test_a_second_call_reuses_the_verified_file_without_reading_the_parts(
    fake: tuple[LocalModelSpec, bytes], tmp_path: Path, parts_root: Path
) -> None:
    spec, data = fake
    cache = tmp_path / "models"
    path = assemble(spec, cache)
    for part in spec.parts:  # the parts are gone: only the cache record can make this pass
        (parts_root / part.file).unlink()
    assert assemble(spec, cache) == path

    # A changed mtime alone: the file is hashed again, found good and its record renewed.
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert assemble(spec, cache) == path and path.read_bytes() == data
    record = json.loads((cache / "fake-coder.gguf.verified.json").read_text())
    assert record["mtime_ns"] == path.stat().st_mtime_ns


def test_a_cached_file_changed_in_place_is_assembled_again(
    fake: tuple[LocalModelSpec, bytes], tmp_path: Path
) -> None:
    spec, data = fake
    cache = tmp_path / "models"
    path = assemble(spec, cache)
    damaged = bytearray(data)
    damaged[-5] ^= 0xFF
    path.write_bytes(bytes(damaged))  # same size, new mtime
    assert assemble(spec, cache).read_bytes() == data


def test_a_corrupted_part_is_refused_in_one_line_naming_it(
    fake: tuple[LocalModelSpec, bytes], tmp_path: Path, parts_root: Path
) -> None:
    spec, _ = fake
    cache = tmp_path / "models"
    second = parts_root / spec.parts[1].file
    damaged = bytearray(second.read_bytes())
    damaged[10] ^= 0x01  # one bit, same size
    second.write_bytes(bytes(damaged))
    with pytest.raises(LocalModelError) as err:
        assemble(spec, cache)
    message = one_line(err)
    assert message.startswith("fake-coder: part 2 (fake-model-part2 1.0.0,")
    assert "has sha256" in message and "refused" in message
    assert "pip install --force-reinstall 'fake-model-part2==1.0.0'" in message
    assert not (cache / "fake-coder.gguf").exists() and leftovers(cache) == []


def test_a_part_of_the_wrong_size_is_refused_before_anything_is_written(
    fake: tuple[LocalModelSpec, bytes], tmp_path: Path, parts_root: Path
) -> None:
    spec, _ = fake
    with (parts_root / spec.parts[2].file).open("ab") as stream:
        stream.write(b"appended")
    cache = tmp_path / "models"
    with pytest.raises(LocalModelError, match=r"fake-model-part3 .* is \d+ bytes, expected \d+") as err:
        assemble(spec, cache)
    one_line(err)
    assert not cache.exists()


def test_the_pinned_whole_file_hash_is_checked_too(fake: tuple[LocalModelSpec, bytes], tmp_path: Path) -> None:
    spec, _ = fake
    wrong = replace(spec, sha256="0" * 64)
    with pytest.raises(LocalModelError, match="the assembled file has sha256") as err:
        assemble(wrong, tmp_path / "models")
    one_line(err)
    assert not (tmp_path / "models" / "fake-coder.gguf").exists()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({"magic": b"GGML"}, "bad GGUF header: not a GGUF file (magic b'GGML', expected b'GGUF')"),
        ({"architecture": "llama"}, "bad GGUF header: general.architecture is 'llama', expected 'qwen2'"),
        ({"name": "Tiny Random"}, f"bad GGUF header: general.name is 'Tiny Random', expected '{NAME}'"),
    ],
)
def test_a_file_with_the_pinned_hash_but_a_bad_header_is_refused(
    header: dict, expected: str, parts_root: Path, tmp_path: Path
) -> None:
    data = gguf_bytes(tmp_path, **header)
    spec = spec_for(install_parts(parts_root, data), data)  # hashes pinned to the bad file itself
    cache = tmp_path / "models"
    with pytest.raises(LocalModelError) as err:
        assemble(spec, cache)
    message = one_line(err)
    assert message.startswith("fake-coder: ") and message.endswith(expected)
    assert not (cache / "fake-coder.gguf").exists() and leftovers(cache) == []


def test_the_header_reader_refuses_truncated_and_unknown_versions(tmp_path: Path) -> None:
    data = gguf_bytes(tmp_path)
    path = tmp_path / "x.gguf"
    path.write_bytes(data[:40])
    with pytest.raises(GGUFHeaderError, match="truncated"):
        read_gguf_header(path)
    path.write_bytes(data[:4] + (1).to_bytes(4, "little") + data[8:])
    with pytest.raises(GGUFHeaderError, match="GGUF version 1 is not supported"):
        read_gguf_header(path)
    path.write_bytes(data[:16] + (2**40).to_bytes(8, "little") + data[24:])
    with pytest.raises(GGUFHeaderError, match="claims"):
        read_gguf_header(path)


def test_a_missing_part_package_names_the_extra_to_install(parts_root: Path, tmp_path: Path) -> None:
    data = gguf_bytes(tmp_path)
    parts = install_parts(parts_root, data)
    absent = replace(parts[0], package="handbook-test-absent-part1")
    spec = spec_for((absent, *parts[1:]), data)
    with pytest.raises(LocalModelError) as err:
        assemble(spec, tmp_path / "models")
    assert one_line(err) == (
        "fake-coder: part package handbook-test-absent-part1 is not installed (pip install -e '.[local-llm-small]')"
    )
    assert not (tmp_path / "models").exists()
    assert missing_parts(spec) == [str(err.value)]


def test_another_version_of_a_part_is_refused(parts_root: Path, tmp_path: Path) -> None:
    data = gguf_bytes(tmp_path)
    parts = install_parts(parts_root, data)
    spec = spec_for((replace(parts[0], version="2.0.0"), *parts[1:]), data)
    with pytest.raises(LocalModelError, match=r"fake-model-part1 is version 1\.0\.0, expected 2\.0\.0") as err:
        assemble(spec, tmp_path / "models")
    one_line(err)


def test_local_backend_setting_parses_and_names_the_known_models() -> None:
    assert LLMSpec.parse("local:qwen2.5-coder-0.5b") == LLMSpec("local", "qwen2.5-coder-0.5b")
    assert LLMSpec.parse(" Local:qwen2.5-coder-1.5b").label() == "local:qwen2.5-coder-1.5b"
    with pytest.raises(LLMConfigError) as err:
        LLMSpec.parse("local:qwen2.5-coder-7b")
    assert one_line(err) == (
        "HANDBOOK_LLM: local model 'qwen2.5-coder-7b' is unknown; local models are "
        "qwen2.5-coder-1.5b, qwen2.5-coder-0.5b"
    )


def test_the_local_backend_reports_a_missing_part_in_one_line(
    parts_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("llama_cpp")  # the backend checks for llama.cpp before assembling
    data = gguf_bytes(tmp_path)
    parts = install_parts(parts_root, data)
    spec = spec_for((parts[0], replace(parts[1], package="handbook-test-absent-part2")), data)
    monkeypatch.setitem(LOCAL_MODELS, spec.name, spec)
    with pytest.raises(LLMConfigError) as err:
        build_chat_model(LLMSpec.parse("local:fake-coder"), LLMOptions(model_dir=tmp_path / "models"))
    assert one_line(err) == (
        "HANDBOOK_LLM: fake-coder: part package handbook-test-absent-part2 is not installed "
        "(pip install -e '.[local-llm-small]')"
    )


def test_cli_assemble_prints_the_path_or_one_error_line(
    fake: tuple[LocalModelSpec, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    spec, data = fake
    monkeypatch.setitem(LOCAL_MODELS, spec.name, spec)
    cache = tmp_path / "models"
    done = CliRunner().invoke(app, ["llm", "assemble", "fake-coder", "--model-dir", str(cache), "-q"])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == str(cache / "fake-coder.gguf")
    assert (cache / "fake-coder.gguf").read_bytes() == data
    listed = CliRunner().invoke(app, ["llm", "list", "--model-dir", str(cache)]).stdout.splitlines()
    assert any(line.startswith("fake-coder") and f"assembled: {cache}" in line for line in listed), listed
    assert any(line.startswith("qwen2.5-coder-0.5b") and "[local-llm-small]" in line for line in listed), listed
    done = CliRunner().invoke(app, ["llm", "assemble", "nope", "--model-dir", str(cache)])
    assert done.exit_code == 1
    assert done.stderr.strip().splitlines() == [
        "error: local model 'nope' is unknown; local models are qwen2.5-coder-1.5b, qwen2.5-coder-0.5b, fake-coder"
    ]


def test_the_extras_pin_exactly_the_parts_of_the_table() -> None:
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    by_extra: dict[str, set[str]] = {}
    for spec in LOCAL_MODELS.values():
        by_extra.setdefault(spec.extra, set()).update(f"{p.package}=={p.version}" for p in spec.parts)
    assert set(extras["local-llm-small"]) == by_extra["local-llm-small"]
    assert set(extras["local-llm"]) == by_extra["local-llm-small"] | by_extra["local-llm"]
    for spec in LOCAL_MODELS.values():
        assert sum(p.size for p in spec.parts) == spec.size
        assert [p.package for p in spec.parts] == sorted(
            (p.package for p in spec.parts), key=lambda n: int(re.findall(r"\d+$", n)[0])
        )
        assert all(p.file.endswith(f"/data/part{i:02d}.bin") for i, p in enumerate(spec.parts, start=1))
    # Not a default dependency.
    default = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any("part" in d for d in default)


def test_the_module_imports_only_the_standard_library() -> None:
    source = Path(local_models.__file__).read_text()
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, flags=re.M))
    assert imported - {"__future__"} <= {
        "contextlib", "hashlib", "importlib.metadata", "json", "logging", "os", "shutil", "struct", "tempfile",
        "collections.abc", "dataclasses", "pathlib", "typing",
    }  # fmt: skip
