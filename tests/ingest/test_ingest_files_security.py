"""Files and folders at ingest (issue 26, rows 8, 9, 15 and 16): symbolic links and special files,
duplicates of indexed documents, folders of folders, and document ids that are safe to use."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from doc_factory import make_markdown
from typer.testing import CliRunner

from ingest.corpus_manifest import ManifestError, load_manifest
from ingest.index_store import IndexSnapshot, has_index
from ingest.pipeline import Ingestor, IngestReport, RemoveError

if TYPE_CHECKING:
    from fakes import FakeEmbedder  # annotations only: fixtures supply the objects

SECRET = "SECRETMARKER"  # a word that must never reach the index


def _md(path: Path, edition: str = "") -> Path:
    """A small Markdown handbook; a different `edition` gives different bytes and chunks."""
    return make_markdown(path, extra=f" Edition {edition}." if edition else "")


def _ingest(
    index: Path, embedder: FakeEmbedder, paths: list[Path], prune: bool = False, **finder: bool
) -> IngestReport:
    return _ingestor(index, embedder, **finder).run(paths, prune=prune)


def _ingestor(index: Path, embedder: FakeEmbedder, **finder: bool) -> Ingestor:
    if not finder:  # the defaults (kept importable without DocumentFinder: the same test runs on older code)
        return Ingestor(index, embedder, progress=False)
    from ingest.pipeline import DocumentFinder

    return Ingestor(index, embedder, progress=False, finder=DocumentFinder(**finder))


def _is_doc_id(doc_id: str) -> bool:
    from ingest.corpus_manifest import is_doc_id

    return is_doc_id(doc_id)


def _documents(index: Path) -> list[str]:
    return sorted(IndexSnapshot.open(index).meta.documents)


def _indexed_text(index: Path) -> str:
    return "\n".join(chunk.text for chunk in IndexSnapshot.open(index).chunks)


def _messages(report: IngestReport, status: str) -> list[str]:
    return [f.message for f in report.files if f.status == status]


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def folder_with_links(tmp_path: Path) -> Path:
    """handbooks/ with one document, a link to a document outside it (the attack), and a link inside it."""
    _md(tmp_path / "outside" / "passwd.md", edition=SECRET)
    folder = tmp_path / "handbooks"
    _md(folder / "kitchen.md")
    (folder / "passwd.md").symlink_to(tmp_path / "outside" / "passwd.md")
    _md(folder / "archive" / "old.md", edition="2019")
    (folder / "old-link.md").symlink_to(folder / "archive" / "old.md")
    return folder


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_embedder: FakeEmbedder) -> FakeEmbedder:
    """The CLI with a fake embedder and no manifest, Chroma server or .env from the environment."""
    monkeypatch.setattr("ingest.encoders.Embedder", lambda *args, **kwargs: fake_embedder)
    monkeypatch.setenv("HANDBOOK_EMBEDDING_MODELS", "minilm")
    monkeypatch.chdir(tmp_path)
    for name in ("CHROMA_HOST", "HANDBOOK_CHROMA_HOST", "CHROMA_PORT", "HANDBOOK_CHROMA_PORT", "HANDBOOK_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HANDBOOK_MANIFEST_PATH", str(tmp_path / "no-manifest.toml"))
    return fake_embedder


def _cli(*args: str):  # type: ignore[no-untyped-def]
    from assistant.cli import app

    return CliRunner().invoke(app, [*args, *(["-q"] if args[0] == "ingest" else [])])


# -- row 8: symbolic links and special files ------------------------------------------------------------


@pytest.mark.unit
def test_symlink_in_folder_is_skipped(
    folder_with_links: Path, index_dir: Path, fake_embedder: FakeEmbedder, cli_env: FakeEmbedder
) -> None:
    report = _ingest(index_dir, fake_embedder, [folder_with_links])
    assert sorted(f.doc_id for f in report.files if f.status == "new") == ["kitchen", "old"]
    assert sorted(_messages(report, "skipped")) == [
        f"{folder_with_links / name}: symbolic link, not followed (--follow-symlinks follows links within the folder)"
        for name in ("old-link.md", "passwd.md")
    ]
    assert _documents(index_dir) == ["kitchen", "old"]
    assert SECRET not in _indexed_text(index_dir)

    result = _cli("ingest", str(folder_with_links), "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    assert f"note: {folder_with_links / 'passwd.md'}: symbolic link, not followed" in result.stderr


@pytest.mark.unit
def test_symlink_outside_folder_never_followed(
    folder_with_links: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    (folder_with_links / "up.md").symlink_to(Path("..") / "outside" / "passwd.md")  # relative, same target
    (folder_with_links / "elsewhere").symlink_to(tmp_path / "outside", target_is_directory=True)
    report = _ingest(index_dir, fake_embedder, [folder_with_links], follow_symlinks=True)
    top = folder_with_links.resolve()
    assert sorted(_messages(report, "skipped")) == [
        f"{folder_with_links / name}: symbolic link to a path outside {top}; never followed"
        for name in ("elsewhere", "passwd.md", "up.md")
    ]
    # The link inside the folder is followed: the same bytes as archive/old.md, so one document.
    duplicates = _messages(report, "duplicate")
    assert len(duplicates) == 1 and "same content as old.md" in duplicates[0]
    assert _documents(index_dir) == ["kitchen", "old"]
    assert SECRET not in _indexed_text(index_dir)


@pytest.mark.unit
def test_followed_link_to_a_folder_inside_is_read_once(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "handbooks"
    _md(folder / "a" / "visits.md")
    (folder / "a" / "loop").symlink_to(folder, target_is_directory=True)  # a loop back to the top
    (folder / "b").symlink_to(folder / "a", target_is_directory=True)
    report = _ingest(index_dir, fake_embedder, [folder], follow_symlinks=True)
    assert [(f.doc_id, f.status) for f in report.files] == [("visits", "new")]
    assert _documents(index_dir) == ["visits"]


@pytest.mark.unit
@pytest.mark.timeout(120)  # reading a FIFO would block forever: fail instead of hanging the suite
def test_fifo_and_socket_in_folder_are_skipped_unopened(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "handbooks"
    _md(folder / "kitchen.md")
    os.mkfifo(folder / "pipe.md")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.md"))
    try:
        report = _ingest(index_dir, fake_embedder, [folder])
        given = _ingest(index_dir, fake_embedder, [folder / "pipe.md"])
    finally:
        server.close()
    assert sorted(_messages(report, "skipped")) == [
        f"{folder / 'pipe.md'}: not a regular file (a FIFO); skipped, not opened",
        f"{folder / 'sock.md'}: not a regular file (a socket); skipped, not opened",
    ]
    assert _documents(index_dir) == ["kitchen"]
    assert [f.message for f in given.failed] == [f"{folder / 'pipe.md'}: not a regular file (a FIFO); not opened"]


# -- row 9: duplicates of indexed documents --------------------------------------------------------------


@pytest.mark.unit
def test_duplicate_of_indexed_document_not_indexed_twice(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder, cli_env: FakeEmbedder
) -> None:
    first = _md(tmp_path / "a" / "rules.md")
    _ingest(index_dir, fake_embedder, [first.parent])
    generation = IndexSnapshot.open(index_dir).meta.generation
    copy = tmp_path / "b" / "rules-copy.md"
    copy.parent.mkdir()
    shutil.copyfile(first, copy)
    fake_embedder.reset_counts()

    report = _ingest(index_dir, fake_embedder, [copy.parent])
    assert [(f.path, f.status) for f in report.files] == [(copy, "duplicate")]
    assert report.files[0].message == f"{copy}: same content as the indexed document rules ({first}); indexed once"
    assert not report.failed and not report.switched and fake_embedder.embedded == 0
    assert _documents(index_dir) == ["rules"]
    assert IndexSnapshot.open(index_dir).meta.generation == generation

    result = _cli("ingest", str(copy), "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    assert f"note: {copy}: same content as the indexed document rules ({first}); indexed once" in result.stderr


@pytest.mark.unit
def test_duplicate_of_a_document_leaving_the_index_is_indexed(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    first = _md(tmp_path / "a" / "rules.md")
    _ingest(index_dir, fake_embedder, [first.parent])
    copy = tmp_path / "b" / "copy.md"
    copy.parent.mkdir()
    shutil.copyfile(first, copy)
    # --prune drops `rules` (not among the paths): its copy is then no duplicate.
    report = _ingest(index_dir, fake_embedder, [copy.parent], prune=True)
    assert [(f.doc_id, f.status) for f in report.files] == [("copy", "new")]
    assert report.removed == ["rules"] and _documents(index_dir) == ["copy"]


@pytest.mark.unit
def test_renamed_file_keeps_its_document_id(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    first = _md(tmp_path / "a" / "rules.md")
    _ingest(index_dir, fake_embedder, [first.parent])
    renamed = first.rename(first.with_name("rules-2015.md"))
    fake_embedder.reset_counts()
    report = _ingest(index_dir, fake_embedder, [renamed.parent])
    assert [(f.doc_id, f.status) for f in report.files] == [("rules", "unchanged")]
    assert _documents(index_dir) == ["rules"] and fake_embedder.embedded == 0


# -- row 16: folders of folders ----------------------------------------------------------------------


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """handbooks/ with no file of its own: the documents sit in subfolders, three of them named rules.md."""
    folder = tmp_path / "handbooks"
    _md(folder / "a" / "rules.md", edition="A")
    _md(folder / "a" / "deep" / "rules.md", edition="A deep")
    _md(folder / "b" / "deep" / "rules.md", edition="B deep")
    _md(folder / "b" / "visits.md", edition="visits")
    _md(folder / ".git" / "notes.md", edition="hidden")
    _md(folder / "b" / ".draft.md", edition="hidden draft")
    return folder


@pytest.mark.unit
def test_nested_folders_are_read(nested: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    report = _ingest(index_dir, fake_embedder, [nested])
    assert [(f.path.relative_to(nested).as_posix(), f.doc_id, f.status) for f in report.files] == [
        ("a/rules.md", "rules", "new"),
        ("a/deep/rules.md", "rules-deep", "new"),
        ("b/visits.md", "visits", "new"),
        ("b/deep/rules.md", "rules-b-deep", "new"),  # the path under the folder, when the folder name is taken
    ]
    assert report.files[3].message == (
        f"{nested / 'b/deep/rules.md'}: document id rules-b-deep, "
        f"because rules is already the id of {nested / 'a/rules.md'}"
    )
    assert _documents(index_dir) == ["rules", "rules-b-deep", "rules-deep", "visits"]
    assert "hidden" not in _indexed_text(index_dir)  # dot-entries (.git, .draft.md) are not read

    # The ids stick: a second run changes nothing.
    again = _ingest(index_dir, fake_embedder, [nested])
    assert {f.status for f in again.files} == {"unchanged"} and not again.switched


@pytest.mark.unit
def test_no_recursive_reads_only_the_folders_own_files(
    nested: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _md(nested / "top.md", edition="top")
    report = _ingest(index_dir, fake_embedder, [nested], recursive=False)
    assert [(f.doc_id, f.status) for f in report.files] == [("top", "new")]


@pytest.mark.unit
def test_no_document_found_exits_1(nested: Path, tmp_path: Path, index_dir: Path, cli_env: FakeEmbedder) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "MANIFEST.tsv").write_text("id\tsha256\n", encoding="utf-8")
    result = _cli("ingest", str(empty), "--index", str(index_dir))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: no document to read in {empty} (formats: .pdf, .docx, .html, .md; subfolders included)"
    ]
    assert "up to date" not in result.stdout and not has_index(index_dir)

    result = _cli("ingest", str(nested), "--no-recursive", "--index", str(index_dir))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: no document to read in {nested} "
        "(formats: .pdf, .docx, .html, .md; subfolders not read with --no-recursive)"
    ]


@pytest.mark.unit
def test_prune_with_recursion_keeps_nested_documents(
    nested: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    other = _md(tmp_path / "other" / "other.md", edition="other")
    _ingest(index_dir, fake_embedder, [nested, other])
    generation = IndexSnapshot.open(index_dir).meta.generation

    report = _ingest(index_dir, fake_embedder, [nested], prune=True)
    assert report.removed == ["other"]
    assert _documents(index_dir) == ["rules", "rules-b-deep", "rules-deep", "visits"]

    # Not reading the subfolders finds nothing here: nothing is pruned either.
    generation = IndexSnapshot.open(index_dir).meta.generation
    report = _ingest(index_dir, fake_embedder, [nested], prune=True, recursive=False)
    assert report.no_documents and report.removed == [] and not report.switched
    assert IndexSnapshot.open(index_dir).meta.generation == generation


# -- row 15: document ids ------------------------------------------------------------------------------


@pytest.mark.unit
def test_unsafe_file_names_get_safe_document_ids(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder, cli_env: FakeEmbedder
) -> None:
    folder = tmp_path / "names"
    dot = _md(folder / "..md", edition="dot")  # stem "."
    dotdot = _md(folder / "...md", edition="dotdot")  # stem ".."
    newline = _md(folder / "line\nbreak.md", edition="newline")
    long = _md(folder / f"{'x' * 240}.md", edition="long")
    report = _ingest(index_dir, fake_embedder, [dot, dotdot, newline, long])
    assert [f.doc_id for f in report.files] == ["document", "document-names", "line-break", "x" * 100]
    assert all(_is_doc_id(doc_id) for doc_id in _documents(index_dir))
    because = "because 'line\\nbreak' is no valid document id"
    assert report.files[2].message == f"{newline}: document id line-break, {because}"

    # On the terminal, a file name with a newline or an escape code is shown escaped, in one line.
    (folder / "esc\x1b]0;PWNED\x07.odt").write_bytes(b"x")
    result = _cli("ingest", str(folder), "--index", str(tmp_path / "fresh-index"))
    assert result.exit_code == 0, result.output
    assert f"note: {folder}/line\\nbreak.md: document id line-break" in result.stderr
    assert f"note: {folder}/esc\\x1b]0;PWNED\\x07.odt: unsupported format .odt" in result.stderr
    assert "\x1b" not in result.output and all(line.startswith("note: ") for line in result.stderr.splitlines())


@pytest.mark.unit
def test_unsafe_indexed_id_is_replaced(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.pipeline import DocIds

    dots = _md(tmp_path / "a" / "...md", edition="dots")
    other = _md(tmp_path / "a" / "rules.md")
    with monkeypatch.context() as patch:  # an index written by older code, which took the stem as it was
        patch.setattr(DocIds, "assign", lambda self, path, *args: (path.stem, ""))
        _ingest(index_dir, fake_embedder, [dots, other])
    assert _documents(index_dir) == ["..", "rules"]

    report = _ingest(index_dir, fake_embedder, [dots])
    assert [(f.doc_id, f.status) for f in report.files] == [("document", "new")]
    assert report.files[0].message == f"{dots}: document id document, because it replaces '..', no valid document id"
    assert report.removed == [".."] and _documents(index_dir) == ["document", "rules"]


@pytest.mark.unit
def test_index_remove_refuses_unsafe_ids(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder, cli_env: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [_md(tmp_path / "a" / "rules.md"), _md(tmp_path / "a" / "b.md", "b")])
    with pytest.raises(RemoveError, match=r"not a valid document id: '\.\.\\n'") as info:
        Ingestor(index_dir, fake_embedder, progress=False).remove(["..\n"])
    assert "\n" not in str(info.value)
    result = _cli("index", "remove", "x\x1b]0;PWNED\x07", "--index", str(index_dir))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: not a valid document id: 'x\\x1b]0;PWNED\\x07' "
        "(letters, digits, -, _ and ., starting with a letter or digit, at most 200 characters)"
    ]
    assert _documents(index_dir) == ["b", "rules"]


@pytest.mark.unit
@pytest.mark.parametrize("doc_id", [".", "..", "a\\nb", "x" * 201, "-rules", "ru/les", "правила"])
def test_manifest_refuses_unsafe_ids(tmp_path: Path, doc_id: str) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(
        f'[[document]]\nid = "{doc_id}"\ntitle = "T"\npublisher = "P"\nyear = 2020\nkind = "guidance"\n'
        'jurisdiction = "J"\nsource_url = "https://example.org/t.pdf"\nreuse = "public"\nlocal = false\n',
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match="field 'id': not a valid document id") as info:
        load_manifest(path)
    assert "\n" not in str(info.value)


@pytest.mark.unit
def test_real_corpus_ids_are_valid() -> None:
    manifest = Path(__file__).resolve().parents[2] / "corpus" / "manifest.toml"
    ids = [doc.id for doc in load_manifest(manifest)]
    assert ids and all(_is_doc_id(doc_id) for doc_id in ids)
