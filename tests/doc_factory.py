"""Small DOCX, HTML and Markdown handbooks for the ingest tests: good ones and bad ones.

Every builder writes the file and returns its path. The three good builders hold the same
local procedure (knife control in a prison kitchen), each written the way its format is usually
written: Word's own outline numbering, an intranet page with navigation around it, a Markdown file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
OUTLINE_NUM_ID = "90"  # the multi-level list the DOCX builder adds: "1." headings, "1.1" paragraphs

# Sentences long enough that every numbered paragraph is a chunk of its own.
KNIFE_STORAGE = (
    "Kitchen knives are kept in the locked shadow board in the kitchen office when they are not in use, "
    "and the duty officer checks every outline on the board at the start and at the end of each shift."
)
KNIFE_ISSUE = (
    "A knife is issued to a named prisoner worker only, is tethered to the work station by a steel cable, "
    "and the issue and return are recorded in the tool register with the time and both signatures."
)
KNIFE_LOSS = (
    "If a knife is missing the kitchen is closed at once, nobody leaves the area, and the orderly officer "
    "orders a full search of the kitchen and of every worker before the regime resumes."
)
SEARCH_ROUTINE = (
    "Workers are rub-down searched when they leave the kitchen and a metal detector wand is passed over "
    "each worker, with a record made of any item found and the name of the searching officer."
)
RETURN_CHECK = (
    "At the end of the shift the duty officer counts every knife back onto the shadow board and "
    "signs the register; a count that does not match is treated as a missing knife."
)


def _numbering_xml() -> tuple[str, str]:
    """An outline list as Word writes one: level 0 "%1." (section headings), level 1 "%1.%2" (paragraphs)."""
    abstract = (
        f'<w:abstractNum xmlns:w="{W}" w:abstractNumId="{OUTLINE_NUM_ID}">'
        '<w:multiLevelType w:val="multilevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2"/></w:lvl>'
        '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%3)"/></w:lvl>'
        "</w:abstractNum>"
    )
    num = f'<w:num xmlns:w="{W}" w:numId="{OUTLINE_NUM_ID}"><w:abstractNumId w:val="{OUTLINE_NUM_ID}"/></w:num>'
    return abstract, num


def _add_outline_numbering(document: Any) -> None:
    from docx.oxml import parse_xml

    numbering = document.part.numbering_part.element
    abstract, num = (parse_xml(xml) for xml in _numbering_xml())
    first_num = numbering.find(f"{{{W}}}num")
    # The schema wants every abstractNum before the first num.
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(num)


def _number(paragraph: Any, level: int, num_id: str = OUTLINE_NUM_ID) -> None:
    from docx.oxml import parse_xml

    ppr = paragraph._p.get_or_add_pPr()
    ppr.insert(0, parse_xml(f'<w:numPr xmlns:w="{W}"><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'))


def make_docx(path: Path, extra: str = "") -> Path:
    """The knife-control procedure as a Word document.

    Paragraphs, in reading order (the location numbers the tests expect):
      1 Title "Kitchen Knife Control"            7 2.1 SEARCH_ROUTINE
      2 Heading 1 "1. Knife control" (numbered)  8 2.2 RETURN_CHECK + extra
      3 1.1 KNIFE_STORAGE                        9 Heading 2 "Contacts"
      4 1.2 KNIFE_ISSUE                         10 table row "Role | Extension"
      5 1.3 KNIFE_LOSS                          11 table row "Orderly officer | 2210"
      6 Heading 1 "2. Searches" (numbered)      12 "• Report every loss..." (List Bullet)
                                              13 "1. Close the kitchen." (List Number)
                                              14 "2. Call the orderly officer." (List Number)
    """
    import docx

    document = docx.Document()
    _add_outline_numbering(document)
    document.add_paragraph("Kitchen Knife Control", style="Title")
    document.add_paragraph("")  # an empty paragraph is not a location
    heading = document.add_paragraph("Knife control", style="Heading 1")
    _number(heading, 0)
    for text in (KNIFE_STORAGE, KNIFE_ISSUE, KNIFE_LOSS):
        _number(document.add_paragraph(text), 1)
    heading = document.add_paragraph("Searches", style="Heading 1")
    _number(heading, 0)
    _number(document.add_paragraph(SEARCH_ROUTINE), 1)
    _number(document.add_paragraph(RETURN_CHECK + extra), 1)
    document.add_paragraph("Contacts", style="Heading 2")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Role", "Extension"), ("Orderly officer", "2210")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("Report every loss to security.", style="List Bullet")
    document.add_paragraph("Close the kitchen.", style="List Number")
    document.add_paragraph("Call the orderly officer.", style="List Number")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def make_html(path: Path, extra: str = "", encoding: str = "utf-8", declare: bool = True) -> Path:
    """The procedure as an intranet page: site navigation, banner, side bar, scripts and footer around it.

    Paragraphs (locations): 1 h1 "Kitchen Knife Control", 2 h2 "3. Knife control", 3 "3.1 ..." storage,
    4 "3.2 ..." issue, 5 "3.3 ..." loss, 6 h3 "Steps when a knife is missing", 7 "1. Close the kitchen.",
    8 "2. Call the orderly officer.", 9 "• Report every loss to security.", 10 h2 "4. Searches",
    11 "4.1 ..." searches, 12 "4.2 ..." return check, 13 "Role | Extension", 14 "Orderly officer | 2210",
    15 the blockquote, 16 dt "Shadow board", 17 dd, 18 pre.
    """
    charset = f'<meta charset="{encoding}">' if declare else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head>{charset}<title>Kitchen knife control - Staff intranet</title>
<style>body {{ font-family: sans-serif; }}</style><script>var tracking = "SCRIPT TEXT";</script></head>
<body>
<header><a href="/">Staff intranet home</a> <form><input name="q"><button>Search the intranet</button></form></header>
<nav><ul><li><a href="/a">Policies A-Z</a></li><li><a href="/b">Forms and templates</a></li></ul></nav>
<aside>Related pages: visits, keys</aside>
<main>
<article>
<h1>Kitchen Knife Control</h1>
<h2>3. Knife control</h2>
<p>3.1 {KNIFE_STORAGE}</p>
<p>3.2 {KNIFE_ISSUE.replace("tool register", "<em>tool register</em>")}</p>
<p>3.3 {KNIFE_LOSS}</p>
<h3>Steps when a knife is missing</h3>
<ol><li>Close the kitchen.</li><li>Call the orderly officer.</li></ol>
<ul><li>Report every loss to security.</li></ul>
<h2>4. Searches</h2>
<p>4.1 {SEARCH_ROUTINE}</p>
<p>4.2 {RETURN_CHECK}{extra}</p>
<table><tr><th>Role</th><th>Extension</th></tr><tr><td>Orderly officer</td><td>2210</td></tr></table>
<blockquote><p>Count the knives, then count them again.</p></blockquote>
<dl><dt>Shadow board</dt><dd>A board painted with the outline of every tool.</dd></dl>
<pre>Form KC1   knife register</pre>
<noscript>Enable JavaScript to see the menu.</noscript>
</article>
</main>
<footer>Crown copyright. Page last reviewed by the web team.</footer>
<script>document.write("MORE SCRIPT TEXT")</script>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(page.encode(encoding))
    return path


def make_markdown(path: Path, extra: str = "", encoding: str = "utf-8", bom: bool = False) -> Path:
    """The procedure in Markdown: front matter, ATX and setext headings, lists, a table, inline markup.

    Paragraphs (locations): 1 "Kitchen Knife Control" (setext h1), 2 "3. Knife control" (##),
    3-5 "3.1"-"3.3", 6 "Steps when a knife is missing" (###), 7 "4. Close the kitchen." (a list starting
    at 4), 8 "5. Call the orderly officer.", 9 "• Report every loss to security.", 10 "4. Searches" (##),
    11 "4.1", 12 "4.2", 13 "Role | Extension", 14 "Orderly officer | 2210".
    """
    text = f"""---
title: Kitchen knife control
owner: Security department
---
Kitchen Knife Control
=====================

## 3. Knife control

3.1 {KNIFE_STORAGE}

3.2 {KNIFE_ISSUE.replace("tool register", "**tool register**")}

3.3 {KNIFE_LOSS.replace("orderly officer", "[orderly officer](https://intranet/roles#orderly)")}

### Steps when a knife is missing

4. Close the kitchen.
5. Call the `orderly officer`.

- Report every loss to security.

## 4. Searches

4.1 {SEARCH_ROUTINE}

4.2 {RETURN_CHECK}{extra}

| Role | Extension |
|------|-----------|
| Orderly officer | 2210 |
"""
    data = text.encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\ufeff".encode(encoding) if bom else b"") + data)
    return path


# -- bad input ----------------------------------------------------------------------------------------


def make_not_a_zip_docx(path: Path) -> Path:
    """Bytes that are no ZIP package at all (a renamed text file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"This is not a Word document, only text saved with a .docx name.\n" * 20)
    return path


def make_truncated_docx(path: Path) -> Path:
    """The first half of a valid DOCX: the ZIP's central directory is gone."""
    whole = make_docx(path.with_name(path.stem + "-whole.tmp.docx"))
    data = whole.read_bytes()
    whole.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_bad_crc_docx(path: Path) -> Path:
    """A complete ZIP whose document part is damaged (one stored byte changed: its CRC no longer matches)."""
    whole = make_docx(path.with_name(path.stem + "-whole.tmp.docx"))
    with zipfile.ZipFile(whole) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    whole.unlink()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    data = bytearray(path.read_bytes())
    marker = data.find(b"Kitchen Knife Control")
    data[marker] = ord("X")
    path.write_bytes(bytes(data))
    return path


def make_ole_docx(path: Path) -> Path:
    """What a password-protected DOCX or a renamed Word 97-2003 file starts with: the OLE signature."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return path


def make_textless_html(path: Path) -> Path:
    """A page with navigation, a script and a footer, and nothing else."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<html><head><title>Menu</title><script>var x = 'script only';</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/policies'>Policies</a></nav>"
        "<script>document.write('hello')</script><footer>Crown copyright</footer></body></html>",
        encoding="utf-8",
    )
    return path


def make_cp1252_markdown(path: Path) -> Path:
    """Markdown saved in Windows-1252: the curly quote and the pound sign are not UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("# Canteen prices\n\nA phone card costs \u00a35 at the prisoners\u2019 shop.\n".encode("cp1252"))
    return path


def paragraph_texts(text: Any) -> list[str]:
    """The text of every paragraph a reader returned (a `DocumentText`), in reading order."""
    return [line.text for location in text.locations for line in location]
