"""Small PDFs built with fpdf2 for the ingest tests: good, bad and large ones.

Every builder writes the file and returns its path. Text is plain ASCII in a core
font (Helvetica), so pdfium extracts it exactly as written, one line per `cell`.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

DEFAULT_HEADER = "A/RES/99/1"
DEFAULT_TITLE = "Standard Rules for the Care of Test Prisoners"
TEXT_WIDTH_MM = 175  # A4 is 210 mm wide; text starts at 15 mm


def _new_pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_compression(True)
    # Fixed dates keep the bytes (and so the sha256) identical from one run to the next.
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_font("Helvetica", size=10)
    return pdf


def _fixed_date():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


_FIXED_DATE = _fixed_date()


def _write_page(
    pdf: FPDF,
    lines: list[str],
    number: int,
    total: int,
    header: str | None,
    title: str | None,
    footer_counter: bool,
) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    y = 12.0
    if header:
        pdf.set_xy(15, y)
        pdf.cell(0, 5, header)
        y += 6
    if title:
        pdf.set_xy(15, y)
        pdf.cell(0, 5, title)
        y += 6
    y += 6
    for line in lines:
        for part in _wrap(pdf, line):
            pdf.set_xy(15, y)
            pdf.cell(0, 5, part)
            y += 5
            if y > 275:
                raise ValueError("too many lines for one page; split them over more pages")
    if footer_counter:
        pdf.set_xy(15, 282)
        pdf.cell(0, 5, f"{number}/{total}")


def _wrap(pdf: FPDF, line: str) -> list[str]:
    """Break a line that would run off the page at word boundaries, as a typesetter would."""
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and pdf.get_string_width(candidate) > TEXT_WIDTH_MM:
            out.append(current)
            current = word
        else:
            current = candidate
    out.append(current)
    return out


def make_pdf(
    path: Path,
    pages: list[list[str]],
    header: str | None = DEFAULT_HEADER,
    footer_counter: bool = True,
    title: str | None = DEFAULT_TITLE,
) -> Path:
    """One PDF page per entry of `pages`, each line of it written on its own line
    (wrapped onto further lines when it is wider than the page).

    With `header`, every page starts with the running header line (a document symbol)
    and `title` (a running title line); with `footer_counter` it ends with "n/N".
    """
    pdf = _new_pdf()
    for number, lines in enumerate(pages, start=1):
        _write_page(pdf, lines, number, len(pages), header, title if header else None, footer_counter)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_encrypted_pdf(path: Path, pages: list[list[str]] | None = None) -> Path:
    pdf = _new_pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    for number, lines in enumerate(pages or [["Rule 1", "A rule behind a password."]], start=1):
        _write_page(pdf, lines, number, 1, None, None, False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_image_only_pdf(path: Path, pages: int = 2) -> Path:
    """Pages with drawings only: what a scan looks like to a text extractor."""
    pdf = _new_pdf()
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(120, 120, 120)
        pdf.rect(20, 20, 170, 250, style="DF")
        pdf.line(20, 20, 190, 270)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_truncated_pdf(path: Path, source: Path | None = None) -> Path:
    """The first half of the bytes of a valid PDF."""
    if source is None:
        source = make_pdf(path.with_name(path.stem + "-whole.tmp.pdf"), sample_rules_pages())
        data = source.read_bytes()
        source.unlink()
    else:
        data = source.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) // 2])
    return path


def make_empty_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def make_text_named_pdf(path: Path) -> Path:
    """A plain text file with a .pdf name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("This is not a PDF, only a text file with the wrong name.\nRule 1\nNothing here.\n")
    return path


def make_bad_trailer_pdf(path: Path) -> Path:
    """A valid PDF whose trailer is a number instead of a dictionary.

    pypdf fails on it with `AttributeError: 'NumberObject' object has no attribute 'items'`
    (what 2 of 120 randomly damaged copies of the corpus PDFs did).
    """
    import re

    source = make_pdf(path.with_name(path.stem + "-whole.tmp.pdf"), sample_rules_pages())
    data = source.read_bytes()
    source.unlink()
    path.write_bytes(re.sub(rb"trailer\s*<<.*?>>", b"trailer 5", data, count=1, flags=re.S))
    return path


def make_blank_pdf(path: Path, pages: int = 3, text_pages: int = 0, drawn: bool = False) -> Path:
    """`text_pages` pages of numbered rules, then blank pages up to `pages`.

    With `drawn` the pages after the text carry a drawing and no text (what a scan looks like).
    """
    pdf = _new_pdf()
    rules = sample_rules_pages()
    for number in range(pages):
        if number < text_pages:
            _write_page(pdf, rules[number % len(rules)], number + 1, pages, None, None, False)
        else:
            pdf.add_page()
            if drawn:
                pdf.set_fill_color(120, 120, 120)
                pdf.rect(20, 20, 170, 250, style="DF")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_repeated_line_pdf(path: Path, pages: int, distinct: int, line: str) -> Path:
    """Every page carries `line`; the first `distinct` pages also have a body of their own.

    Pages after `distinct` hold `line` and nothing else: a running-header cleaner that took
    it for a header would leave them empty.
    """
    pdf = _new_pdf()
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_xy(15, 20)
        pdf.cell(0, 5, line)
        if number <= distinct:
            pdf.set_xy(15, 26)
            pdf.cell(0, 5, f"Staff shall record the check made on wing {_letters(number)} on day {number}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_large_pdf(path: Path, pages: int) -> Path:
    """`pages` pages with two short lines each; 2,000 pages build in a couple of seconds.

    The body line differs from page to page in its letters, not only in its digits:
    otherwise the page cleaner would rightly take it for a running footer.
    """
    pdf = _new_pdf()
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_xy(15, 20)
        pdf.cell(0, 5, f"Section {number}")
        pdf.set_xy(15, 26)
        pdf.cell(0, 5, f"Staff shall record the check made on wing {_letters(number)} on day {number}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _letters(number: int) -> str:
    """1 -> "a", 26 -> "z", 27 -> "ab": a distinct word for every number."""
    out = ""
    while number:
        number, rest = divmod(number - 1, 26)
        out += "abcdefghijklmnopqrstuvwxyz"[rest]
    return out


def sample_rules_pages(variant: str = "") -> list[list[str]]:
    """Three pages of numbered rules, long enough to make one chunk per rule.

    `variant` is appended to the text of Rule 3, so that two variants differ in
    that rule only.
    """
    filler = (
        "Prison staff shall keep a written record of each step, sign it and pass it to the "
        "duty governor before the end of the shift"
    )
    return [
        [
            "Rule 1",
            "1. All prisoners shall be treated with the respect due to their inherent",
            f"dignity and value as human beings. {filler}.",
            "2. No prisoner shall be subjected to torture or other cruel treatment, and",
            f"the safety and security of prisoners shall be ensured at all times. {filler}.",
            "Rule 2",
            "1. The present rules shall be applied impartially. There shall be no",
            f"discrimination on the grounds of race, colour, sex or religion. {filler}.",
            "2. The religious beliefs and moral precepts of prisoners shall be respected",
            f"by every member of staff who works in the prison. {filler}.",
        ],
        [
            "Rule 3",
            "1. Every prison shall keep a standardized file management system for all",
            f"prisoners, in a secure and confidential way. {filler}.{variant}",
            "2. The file shall record the date, time and place of admission, and the",
            f"reasons for the commitment and the authority ordering it. {filler}.",
            "Rule 4",
            "1. Prisoners shall be allowed, under necessary supervision, to communicate",
            f"with their family and friends at regular intervals by letter and visit. {filler}.",
            "2. Where conjugal visits are allowed, this right shall be applied without",
            f"discrimination and with due regard to safety and dignity. {filler}.",
        ],
        [
            "Rule 5",
            "1. Disciplinary sanctions shall not include the prolonged solitary",
            f"confinement of any prisoner, nor placement in a dark cell. {filler}.",
            "2. Instruments of restraint shall never be applied as a sanction for",
            f"disciplinary offences, nor in a way that is degrading. {filler}.",
        ],
    ]
