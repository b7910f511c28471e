"""Reader resource limits (issue 26, rows 6, 7 and 15): compression bombs, pages, elements, headings, wall time.

The bombs are small variants: a low limit in the test and a stream a few times bigger. Two tests read
a bomb of a few hundred MB in a subprocess held to 1 GiB of address space, with the default limits.
"""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest
from doc_factory import make_docx, make_html, make_markdown
from pdf_factory import make_pdf, sample_rules_pages

from ingest.pipeline import read_document
from ingest.readers import LimitError, ReaderError, ReaderLimits, reader_for
from ingest.settings import IngestSettings

pytestmark = pytest.mark.unit

MB = 1_000_000
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


# --- bomb builders ---------------------------------------------------------------------------------


def _deflate(block: bytes, copies: int, raw: bool = False) -> bytes:
    """`block` repeated `copies` times, deflated in about a thousandth of the size, in a fraction of a second.

    Each copy is compressed after a full flush, so every copy after the first has the same bytes;
    only the trailing checksum (zlib's Adler-32) is computed over all of them.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()
    header = first[: len(first) - len(again)]
    if raw:
        return header + again * copies + end
    adler = 1
    for _ in range(copies):
        adler = zlib.adler32(block, adler)
    return header + again * copies + end[:-4] + adler.to_bytes(4, "big")


def _lzw_bomb(copies: int) -> bytes:
    """LZW codes for spaces only: code 258 is two spaces, 259 three ... a table's worth is 7.4 MB."""
    bits, held, width, out = 0, 0, 9, bytearray()

    def emit(code: int) -> None:
        nonlocal bits, held
        bits, held = (bits << width) | code, held + width
        while held >= 8:
            held -= 8
            out.append((bits >> held) & 0xFF)
        bits &= (1 << held) - 1

    for _ in range(copies):
        emit(256)
        width, size = 9, 258
        emit(32)
        while size < 4096:
            emit(size)
            size += 1
            if size + 1 >= (1 << width) and width < 12:  # EarlyChange 1, as the decoder
                width += 1
        emit(256)
        width = 9
    emit(257)
    if held:
        out.append((bits << (8 - held)) & 0xFF)
    return bytes(out)


def _pdf(path: Path, content: bytes, filters: str, extra: tuple[bytes, ...] = ()) -> Path:
    """A one-page PDF whose content stream is `content` with `filters`; `extra` objects from number 6 on."""
    stream = b"<< /Length %d /Filter %s >>\nstream\n" % (len(content), filters.encode()) + content + b"\nendstream"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        stream,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *extra,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _pdf_bomb(path: Path, expanded: int, kind: str = "flate") -> Path:
    text = b"BT /F1 12 Tf 72 720 Td (Rule 1 Knives are counted.) Tj ET\n"
    spaces = b" " * (1 << 20)
    copies = expanded // len(spaces) + 1
    if kind == "flate":
        return _pdf(path, _deflate(text + spaces, copies), "/FlateDecode")
    if kind == "flate-escaped-name":  # /Fl#61teDecode is /FlateDecode to pdfium
        return _pdf(path, _deflate(text + spaces, copies), "/Fl#61teDecode")
    if kind == "flate-indirect":  # the filter names in an object of their own
        return _pdf(path, _deflate(text + spaces, copies), "6 0 R", (b"[/FlateDecode]",))
    if kind == "ascii85-flate":
        encoded = base64.a85encode(_deflate(text + spaces, copies)) + b"~>"
        return _pdf(path, encoded, "[/ASCII85Decode /FlateDecode]")
    if kind == "lzw":
        return _pdf(path, _lzw_bomb(expanded // 7_000_000 + 1), "/LZWDecode")
    if kind == "runlength":  # 129 then a byte: that byte 128 times
        return _pdf(path, b"\x81 " * (expanded // 128 + 1) + b"\x80", "/RunLengthDecode")
    raise ValueError(kind)


def _docx_bomb(path: Path, expanded: int, declared: int | None = None) -> Path:
    """A DOCX whose word/document.xml expands to about `expanded` bytes of paragraphs.

    Written by hand (a ZIP is a few headers around deflated data), so that the deflated part is made in
    a fraction of a second and its declared size can lie (`declared`).
    """
    paragraph = b"<w:p><w:r><w:t>Knives are counted at the end of each shift.</w:t></w:r></w:p>"
    block = paragraph * ((1 << 20) // len(paragraph))
    copies = expanded // len(block) + 1
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}"><w:body>'.encode()
    tail = b"</w:body></w:document>"
    size = len(head) + len(block) * copies + len(tail)
    crc = zlib.crc32(head)
    for _ in range(copies):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(head + block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    document = first + again * (copies - 1) + packer.compress(tail) + packer.flush()
    parts = [
        ("[Content_Types].xml", _CONTENT_TYPES, zlib.crc32(_CONTENT_TYPES), len(_CONTENT_TYPES), _raw(_CONTENT_TYPES)),
        ("_rels/.rels", _RELS, zlib.crc32(_RELS), len(_RELS), _raw(_RELS)),
        ("word/document.xml", b"", crc, declared if declared is not None else size, document),
    ]
    out = bytearray()
    central = bytearray()
    for name, _, part_crc, part_size, data in parts:
        encoded = name.encode()
        sizes = (part_crc, len(data), part_size, len(encoded))
        # made by 2.0 on Unix, needs 2.0, no flags, deflated, a fixed date; then offset of the local header
        central += struct.pack(_CENTRAL, b"PK\1\2", 20, 3, 20, 0, 0, 8, 0, 0x21, *sizes, 0, 0, 0, 0, 0, len(out))
        out += struct.pack(_LOCAL, b"PK\3\4", 20, 0, 0, 8, 0, 0x21, *sizes, 0) + encoded + data
        central += encoded
    end = struct.pack(_END, b"PK\5\6", 0, 0, len(parts), len(parts), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


# ZIP headers (APPNOTE 4.3.7, 4.3.12, 4.3.16): local file header, central directory entry, end record.
_LOCAL = "<4s2B4HL2L2H"
_CENTRAL = "<4s4B4HL2L5H2L"
_END = "<4s4H2LH"


def _raw(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _one_line_naming(message: str, setting: str) -> None:
    assert "\n" not in message
    assert f"(limit {setting}=" in message


# --- row 7: PDF compression bomb ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["flate", "flate-escaped-name", "flate-indirect", "ascii85-flate", "lzw", "runlength"])
def test_pdf_stream_bomb_refused(tmp_path: Path, kind: str) -> None:
    bomb = _pdf_bomb(tmp_path / "bomb.pdf", 8 * MB, kind)
    assert bomb.stat().st_size < 200_000  # a small file ...
    with pytest.raises(LimitError) as caught:  # ... whose stream expands past the limit
        reader_for(bomb, ReaderLimits(max_decompressed_bytes=MB)).read(bomb)
    _one_line_naming(str(caught.value), "HANDBOOK_MAX_DECOMPRESSED_BYTES")
    assert str(caught.value).startswith(f"{bomb}: the stream at byte ")


def test_pdf_stream_under_the_limit_is_read(tmp_path: Path) -> None:
    pdf = _pdf_bomb(tmp_path / "spaces.pdf", 2 * MB)
    text = reader_for(pdf, ReaderLimits(max_decompressed_bytes=4 * MB)).read(pdf)
    assert text.locations[0][0].text == "Rule 1 Knives are counted."


def test_pdf_page_limit(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "rules.pdf", sample_rules_pages())
    with pytest.raises(LimitError) as caught:
        reader_for(pdf, ReaderLimits(max_pages=2)).read(pdf)
    assert str(caught.value) == f"{pdf}: 3 pages (limit HANDBOOK_MAX_PAGES=2)"
    assert len(reader_for(pdf, ReaderLimits(max_pages=3)).read(pdf).locations) == 3


def test_zero_page_pdf_message(tmp_path: Path) -> None:
    import pypdf

    pdf = tmp_path / "empty.pdf"
    pypdf.PdfWriter().write(pdf)
    with pytest.raises(ReaderError) as caught:
        reader_for(pdf).read(pdf)
    assert str(caught.value) == f"{pdf}: the PDF has no pages"


# --- row 6: DOCX zip bomb -----------------------------------------------------------------------------


def test_docx_zip_bomb_refused(tmp_path: Path) -> None:
    bomb = _docx_bomb(tmp_path / "bomb.docx", 8 * MB)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(LimitError) as caught:
        reader_for(bomb, ReaderLimits(max_decompressed_bytes=MB)).read(bomb)
    _one_line_naming(str(caught.value), "HANDBOOK_MAX_DECOMPRESSED_BYTES")
    assert str(caught.value).startswith(f"{bomb}: word/document.xml expands to ")


def test_docx_bomb_with_a_lying_size_is_refused(tmp_path: Path) -> None:
    # The part says it expands to 1 KB: what it expands to is counted (and its CRC checked), not believed.
    bomb = _docx_bomb(tmp_path / "liar.docx", 8 * MB, declared=1000)
    with pytest.raises(ReaderError) as caught:
        reader_for(bomb, ReaderLimits(max_decompressed_bytes=MB)).read(bomb)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{bomb}: corrupt DOCX (broken ZIP")


def test_docx_bomb_of_the_right_shape_is_read_below_the_limit(tmp_path: Path) -> None:
    # The hand-made package is a DOCX python-docx reads: the refusals above are the limit's doing.
    docx = _docx_bomb(tmp_path / "small.docx", 100_000)
    text = reader_for(docx).read(docx)
    assert text.locations[0][0].text == "Knives are counted at the end of each shift."


def test_docx_package_total_limit(tmp_path: Path) -> None:
    docx = make_docx(tmp_path / "orders.docx")
    with zipfile.ZipFile(docx) as package:
        sizes = [info.file_size for info in package.infolist()]
    limit = max(sizes) + 1  # every part fits, all of them together do not
    with pytest.raises(LimitError) as caught:
        reader_for(docx, ReaderLimits(max_decompressed_bytes=limit)).read(docx)
    assert f"the package expands past {limit:,} bytes" in str(caught.value)


def test_docx_compressed_with_another_method_refused(tmp_path: Path) -> None:
    source = make_docx(tmp_path / "orders.docx")
    docx = tmp_path / "bzip2.docx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(docx, "w", zipfile.ZIP_BZIP2) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    with pytest.raises(ReaderError, match="not Deflate as Word writes"):
        reader_for(docx).read(docx)


def test_docx_element_limit(tmp_path: Path) -> None:
    docx = make_docx(tmp_path / "orders.docx")
    with pytest.raises(LimitError) as caught:
        reader_for(docx, ReaderLimits(max_elements=100)).read(docx)
    assert str(caught.value) == f"{docx}: more than 100 XML elements (limit HANDBOOK_MAX_ELEMENTS=100)"


# --- memory: the bombs at a few hundred MB, in 1 GiB of address space -----------------------------------

_READ_CAPPED = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from ingest.readers import reader_for
    path = Path(sys.argv[1])
    try:
        reader_for(path).read(path)
        message = "read"
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"message": message, "peak_mb": peak_mb}))
    """
)


def _read_in_1gib(path: Path) -> dict[str, object]:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _READ_CAPPED, str(path)], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_pdf_bomb_read_in_1gib_of_memory(tmp_path: Path) -> None:
    # 600 MB from a 0.6 MB file: pdfium alone took 2.1 GB for a 1 GiB stream (issue 26, row 7).
    bomb = _pdf_bomb(tmp_path / "bomb.pdf", 600 * MB)
    result = _read_in_1gib(bomb)
    assert str(result["message"]).startswith(f"LimitError: {bomb}: the stream at byte ")
    assert "HANDBOOK_MAX_DECOMPRESSED_BYTES=200000000" in str(result["message"])


def test_docx_bomb_read_in_1gib_of_memory(tmp_path: Path) -> None:
    # 600 MB of paragraphs from a 0.6 MB file; python-docx would hold and parse them whole (row 6).
    bomb = _docx_bomb(tmp_path / "bomb.docx", 600 * MB)
    result = _read_in_1gib(bomb)
    assert str(result["message"]).startswith(f"LimitError: {bomb}: word/document.xml expands to ")


# --- row 15: headings, elements and wall time --------------------------------------------------------


def test_many_headings_markdown_is_refused(tmp_path: Path) -> None:
    # 100,000 headings with body text ran for about an hour (their chunks embedded one by one):
    # past 10,000 headings (the default) a document is refused once parsed, before any chunk is made.
    path = tmp_path / "headings.md"
    path.write_text("".join(f"## Heading {n}\n\nBody text of part {n}.\n\n" for n in range(10_001)))
    with pytest.raises(LimitError) as caught:
        reader_for(path).read(path)
    assert str(caught.value) == f"{path}: more than 10,000 headings (limit HANDBOOK_MAX_HEADINGS=10000)"


@pytest.mark.parametrize("suffix", [".md", ".html", ".docx"])
def test_heading_limit_in_every_flow_format(tmp_path: Path, suffix: str) -> None:
    make = {".md": make_markdown, ".html": make_html, ".docx": make_docx}[suffix]
    path = make(tmp_path / f"knives{suffix}")
    with pytest.raises(LimitError, match=r"more than 1 headings \(limit HANDBOOK_MAX_HEADINGS=1\)"):
        reader_for(path, ReaderLimits(max_headings=1)).read(path)


def test_html_tag_limit(tmp_path: Path) -> None:
    path = make_html(tmp_path / "knives.html")
    with pytest.raises(LimitError) as caught:
        reader_for(path, ReaderLimits(max_elements=10)).read(path)
    assert str(caught.value) == f"{path}: more than 10 tags (limit HANDBOOK_MAX_ELEMENTS=10)"


def test_markdown_line_limit(tmp_path: Path) -> None:
    path = make_markdown(tmp_path / "knives.md")
    with pytest.raises(LimitError, match=r"more than 5 lines of text \(limit HANDBOOK_MAX_ELEMENTS=5\)"):
        reader_for(path, ReaderLimits(max_elements=5)).read(path)


@pytest.mark.parametrize("suffix", [".md", ".html"])
def test_text_file_size_limit(tmp_path: Path, suffix: str) -> None:
    path = (make_markdown if suffix == ".md" else make_html)(tmp_path / f"knives{suffix}")
    size = path.stat().st_size
    with pytest.raises(LimitError) as caught:
        reader_for(path, ReaderLimits(max_decompressed_bytes=100)).read(path)
    assert str(caught.value) == f"{path}: a file of {size:,} bytes (limit HANDBOOK_MAX_DECOMPRESSED_BYTES=100)"


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".html", ".md"])
def test_wall_time_limit_stops_every_reader(tmp_path: Path, suffix: str) -> None:
    # A deadline already past when the reader first checks it: the one line names the limit.
    make = {".docx": make_docx, ".html": make_html, ".md": make_markdown}
    if suffix == ".pdf":
        path = make_pdf(tmp_path / "rules.pdf", sample_rules_pages())
    else:
        path = make[suffix](tmp_path / f"knives{suffix}")
    with pytest.raises(LimitError) as caught:
        reader_for(path, ReaderLimits(max_seconds_per_file=1e-9)).read(path)
    assert str(caught.value) == f"{path}: not read within 1e-09 s (limit HANDBOOK_MAX_SECONDS_PER_FILE=1e-09)"


# --- settings ----------------------------------------------------------------------------------------


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert ReaderLimits.from_settings(IngestSettings()) == ReaderLimits()  # one set of defaults
    monkeypatch.setenv("HANDBOOK_MAX_PAGES", "2")
    monkeypatch.setenv("HANDBOOK_MAX_SECONDS_PER_FILE", "30.5")
    limits = ReaderLimits.from_settings(IngestSettings())
    assert (limits.max_pages, limits.max_seconds_per_file) == (2, 30.5)
    pdf = make_pdf(tmp_path / "rules.pdf", sample_rules_pages())
    with pytest.raises(LimitError, match="HANDBOOK_MAX_PAGES=2"):
        read_document(pdf, limits=limits)
