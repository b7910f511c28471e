"""Structure recovery (numbered units, headings) and chunking (sizes, pages, ids, sentences)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.chunking import Chunker, join_lines, page_texts
from ingest.records import Block, Chunk, Line, chunk_id
from ingest.sentences import sentence_spans, split_sentences
from ingest.structure import StructureParser

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
SENTENCE_END = re.compile(r"[.!?;:][\"')\]]?$")


def _page(number: int, *texts: str) -> list[Line]:
    return [Line(text=text, page=number) for text in texts]


def _sentence(i: int) -> str:
    """A distinct 14-word sentence (no two are equal)."""
    return f"Officers on landing {_word(i)} shall check every cell door and record the result in writing."


def _word(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[i % 26] + letters[(i // 26) % 26] + "x"


def _sentences(first: int, count: int) -> list[str]:
    return [_sentence(i) for i in range(first, first + count)]


def _chunks(
    pages: list[list[Line]], chunker: Chunker | None = None, doc_id: str = "doc", title: str = "Doc"
) -> list[Chunk]:
    blocks = StructureParser().run(pages)
    return (chunker or Chunker()).run(doc_id, title, blocks)


# -- structure ---------------------------------------------------------------------------------------


def test_named_rules_become_units_with_their_subparagraphs() -> None:
    pages = [
        _page(
            1,
            "Rule 1",
            "1. All prisoners shall be treated with respect.",
            "2. No prisoner shall be subjected to torture.",
            "Rule 2",
            "The rules shall be applied impartially.",
            "Rule 3",
            "A file shall be kept for every prisoner.",
        )
    ]
    blocks = StructureParser().run(pages)
    assert [b.ref for b in blocks] == ["Rule 1", "Rule 2", "Rule 3"]
    assert [line.text for line in blocks[0].lines] == [
        "1. All prisoners shall be treated with respect.",
        "2. No prisoner shall be subjected to torture.",
    ]
    # The unit heading itself is the ref, not part of the text.
    assert all(not line.text.startswith("Rule ") for b in blocks for line in b.lines)


def test_articles_under_a_part_heading() -> None:
    pages = [
        _page(
            1,
            "PART I",
            "Article 1",
            "1. For the purposes of this Convention, torture means any act by which pain is inflicted.",
            "2. This article is without prejudice to any international instrument.",
            "Article 2",
            "Each State Party shall take effective measures to prevent acts of torture.",
        ),
        _page(2, "Article 14", "Each State Party shall ensure that the victim obtains redress."),
    ]
    blocks = StructureParser().run(pages)
    assert [b.ref for b in blocks] == ["Article 1", "Article 2", "Article 14"]
    assert all(b.headings == ["PART I"] for b in blocks)
    assert blocks[2].lines[0].page == 2


def test_few_named_units_do_not_switch_to_named_mode() -> None:
    # Two mentions of "Rule N" on their own line are not enough to call the document rule-numbered.
    pages = [_page(1, "Rule 1", "Some text about the rule.", "Rule 2", "More text about the rule.")]
    blocks = StructureParser().run(pages)
    assert all(b.ref == "" for b in blocks)


def test_dotted_paragraphs_in_a_document_without_named_units() -> None:
    pages = [
        _page(
            1,
            "1. Introduction",
            "1.1 This framework sets out how staff manage visits safely.",
            "1.2 It applies to all closed prisons in the estate.",
            "2. Requirements",
            "2.1 Governors must publish the visiting times.",
            "2.2 Staff must search visitors on arrival.",
        ),
        _page(2, "2.3 Visitors must show identification.", "Staff must log each visit."),
    ]
    blocks = StructureParser().run(pages)
    assert [b.ref for b in blocks] == ["1.1", "1.2", "2.1", "2.2", "2.3"]
    # Numbered section titles become headings, not text.
    assert blocks[0].headings == ["1. Introduction"]
    assert blocks[2].headings == ["2. Requirements"]
    assert blocks[4].headings == ["2. Requirements"]
    # The dotted number stays in the paragraph text, as printed; continuation lines stay with it.
    assert [line.text for line in blocks[4].lines] == [
        "2.3 Visitors must show identification.",
        "Staff must log each visit.",
    ]
    assert [line.page for line in blocks[4].lines] == [2, 2]


def test_quantities_are_not_taken_for_paragraph_numbers() -> None:
    pages = [
        _page(
            1,
            "1.1 Cells must have a window.",
            "1.2 Each cell must measure at least",
            "9.5 square metres of floor space.",
            "1.3 Lights must work.",
        )
    ]
    blocks = StructureParser().run(pages)
    assert [b.ref for b in blocks] == ["1.1", "1.2", "1.3"]
    assert "9.5 square metres of floor space." in [line.text for line in blocks[1].lines]


def test_table_of_contents_lines_are_dropped() -> None:
    pages = [
        _page(1, "Rule 1 ........ 3", "Rule 2 ........ 4"),
        _page(2, "Rule 1", "Staff shall act.", "Rule 2", "Staff shall rest.", "Rule 3", "Staff shall talk."),
    ]
    blocks = StructureParser().run(pages)
    assert [b.ref for b in blocks] == ["Rule 1", "Rule 2", "Rule 3"]
    assert all("...." not in line.text for b in blocks for line in b.lines)


def test_unnumbered_heading_goes_into_heading_path() -> None:
    pages = [
        _page(
            1,
            "1. Searching",
            "1.1 Staff search every visitor.",
            "Searching children",
            "1.2 Children are searched with a parent present.",
            "1.3 Records are kept.",
        )
    ]
    blocks = StructureParser().run(pages)
    by_ref = {b.ref: b for b in blocks}
    assert by_ref["1.1"].headings == ["1. Searching"]
    assert by_ref["1.2"].headings == ["1. Searching", "Searching children"]


# -- pages -------------------------------------------------------------------------------------------


def test_rule_across_a_page_break_tracks_pages() -> None:
    second_page_sentence = "Letters shall not be opened without the authority of the director."
    pages = [
        _page(
            1,
            "Rule 1",
            *_sentences(0, 4),
            "Rule 2",
            *_sentences(20, 3),
            "Prisoners shall be allowed to write to their",
        ),
        _page(2, "family at regular intervals.", second_page_sentence, "Rule 3", *_sentences(40, 4)),
    ]
    chunks = _chunks(pages)
    assert [c.ref for c in chunks] == ["Rule 1", "Rule 2", "Rule 3"]
    rule1, rule2, rule3 = chunks
    assert (rule2.page_start, rule2.page_end) == (1, 2)
    # The wrapped line is joined into one sentence across the break.
    assert "write to their family at regular intervals." in rule2.text
    assert rule2.page_at(rule2.text.index(second_page_sentence)) == 2
    assert rule2.page_at(rule2.text.index("family at regular")) == 2
    assert rule2.page_at(rule2.text.index("Prisoners shall be allowed")) == 1
    assert rule2.page_at(0) == 1
    # Units that sit on one page keep that page only.
    assert (rule1.page_start, rule1.page_end) == (1, 1)
    assert (rule3.page_start, rule3.page_end) == (2, 2)
    assert rule3.page_at(0) == 2


def test_page_spans_point_at_the_first_text_of_each_page() -> None:
    pages = [_page(1, "Rule 1", "First page text ends here."), _page(2, "Second page text starts here.")]
    blocks = [
        Block(ref="Rule 1", headings=[], lines=[line for page in pages for line in page if line.text != "Rule 1"])
    ]
    (chunk,) = Chunker().run("doc", "Doc", blocks)
    assert [(p.page, chunk.text[p.offset :]) for p in chunk.pages] == [
        (1, "First page text ends here. Second page text starts here."),
        (2, "Second page text starts here."),
    ]


def test_every_chunk_page_range_within_document() -> None:
    pages = [_page(n, f"Rule {n}", *[_sentence(n * 10 + i) for i in range(n % 3 + 1)]) for n in range(1, 9)]
    chunks = _chunks(pages)
    for chunk in chunks:
        assert 1 <= chunk.page_start <= chunk.page_end <= 8
        assert all(chunk.page_start <= span.page <= chunk.page_end for span in chunk.pages)
        assert [span.offset for span in chunk.pages] == sorted(span.offset for span in chunk.pages)


def test_page_texts_are_joined_like_chunks() -> None:
    pages = [_page(1, "The sanction of solitary confine-", "ment shall be limited."), _page(2, "Second page.")]
    texts = page_texts("doc", pages)
    assert [(p.page, p.text) for p in texts] == [
        (1, "The sanction of solitary confinement shall be limited."),
        (2, "Second page."),
    ]


# -- sizes -------------------------------------------------------------------------------------------


def test_long_unit_split_at_sentence_boundaries() -> None:
    sentences = _sentences(0, 40)  # 40 x 15 words = 600 words
    pages = [_page(1, "Rule 1", *_sentences(100, 4), "Rule 2", *_sentences(200, 4), "Rule 7", *sentences)]
    chunker = Chunker(max_words=170, min_words=45)
    chunks = [c for c in _chunks(pages, chunker) if c.ref == "Rule 7"]
    assert len(chunks) >= 4
    for chunk in chunks:
        assert len(chunk.text.split()) <= int(chunker.max_words * 1.15)
        assert SENTENCE_END.search(chunk.text), chunk.text[-60:]
        assert chunk.text.startswith("Officers on landing")
    # Nothing lost, nothing repeated.
    assert " ".join(c.text for c in chunks).split() == " ".join(sentences).split()


def test_no_chunk_over_max_words_except_the_tail_allowance() -> None:
    chunker = Chunker(max_words=60, min_words=20)
    pages = []
    for n in range(1, 13):
        count = (n * 7) % 11 + 1  # 1 to 11 sentences of 15 words
        pages.append(_page(n, f"Rule {n}", *[_sentence(n * 100 + i) for i in range(count)]))
    chunks = _chunks(pages, chunker)
    limit = int(chunker.max_words * 1.15)
    assert all(len(c.text.split()) <= limit for c in chunks)
    over = [c for c in chunks if len(c.text.split()) > chunker.max_words]
    for chunk in over:
        # Only the last piece of a split unit may take the allowance, and only with a short tail.
        same_unit = [c for c in chunks if c.ref == chunk.ref]
        assert chunk is same_unit[-1]


def test_tail_allowance_joins_a_short_tail() -> None:
    # 12 sentences of 15 words = 180 words: a 15-word tail over 170 reads better kept together.
    sentences = _sentences(0, 12)
    pages = [_page(1, "Rule 1", *_sentences(100, 4), "Rule 2", *_sentences(200, 4), "Rule 3", *sentences)]
    chunks = [c for c in _chunks(pages) if c.ref == "Rule 3"]
    assert len(chunks) == 1
    assert chunks[0].text.split() == " ".join(sentences).split()
    assert 170 < len(chunks[0].text.split()) <= int(170 * 1.15)


def test_long_tail_is_its_own_chunk() -> None:
    sentences = _sentences(0, 14)  # 210 words: 165 + 45, the tail is too long to join
    pages = [_page(1, "Rule 1", *_sentences(100, 4), "Rule 2", *_sentences(200, 4), "Rule 3", *sentences)]
    chunks = [c for c in _chunks(pages) if c.ref == "Rule 3"]
    assert [len(c.text.split()) for c in chunks] == [165, 45]


def test_short_tail_equal_to_an_earlier_sentence_is_not_lost() -> None:
    # The tail sentence repeats one printed earlier in the same unit.
    repeated = "Staff shall sign the register."
    sentences = [repeated, *_sentences(0, 11), repeated]
    pages = [_page(1, "Rule 1", *_sentences(100, 4), "Rule 2", *_sentences(200, 4), "Rule 3", *sentences)]
    chunks = [c for c in _chunks(pages) if c.ref == "Rule 3"]
    assert " ".join(c.text for c in chunks).split() == " ".join(sentences).split()


def test_one_huge_sentence_is_cut_at_word_boundaries() -> None:
    words = [f"item{_word(i)}" for i in range(400)]
    pages = [_page(1, "Rule 1", *_sentences(100, 4), "Rule 2", *_sentences(200, 4), "Rule 3", " ".join(words) + ".")]
    chunker = Chunker(max_words=170, min_words=45)
    chunks = [c for c in _chunks(pages, chunker) if c.ref == "Rule 3"]
    assert len(chunks) >= 3
    assert all(len(c.text.split()) <= int(chunker.max_words * 1.15) for c in chunks)
    assert " ".join(c.text for c in chunks).split() == [*words[:-1], words[-1] + "."]


def test_tiny_neighbouring_units_are_merged() -> None:
    pages = [
        _page(
            1,
            "Rule 1",
            "Staff shall be polite.",
            "Rule 2",
            "Staff shall be punctual.",
            "Rule 3",
            *_sentences(0, 11),  # 165 words: too many to merge with the 8 before
        )
    ]
    chunks = _chunks(pages)
    assert chunks[0].ref == "Rules 1\u20132"
    assert chunks[0].text == "Staff shall be polite.\nStaff shall be punctual."
    assert chunks[0].ref_at(0) == "Rule 1"
    assert chunks[0].ref_at(chunks[0].text.index("punctual")) == "Rule 2"
    assert chunks[1].ref == "Rule 3"
    assert all(len(c.text.split()) <= 170 for c in chunks)


def test_units_under_different_headings_are_not_merged() -> None:
    blocks = [
        Block(ref="Rule 1", headings=["Part I"], lines=_page(1, "Short text one.")),
        Block(ref="Rule 2", headings=["Part II"], lines=_page(1, "Short text two.")),
    ]
    chunks = Chunker().run("doc", "Doc", blocks)
    assert [c.ref for c in chunks] == ["Rule 1", "Rule 2"]
    assert [c.headings for c in chunks] == [["Part I"], ["Part II"]]


def test_merged_chunk_tracks_pages_of_both_units() -> None:
    blocks = [
        Block(ref="Rule 1", headings=[], lines=_page(1, "Staff shall be polite.")),
        Block(ref="Rule 2", headings=[], lines=_page(2, "Staff shall be punctual.")),
    ]
    (chunk,) = Chunker().run("doc", "Doc", blocks)
    assert (chunk.page_start, chunk.page_end) == (1, 2)
    assert chunk.page_at(chunk.text.index("punctual")) == 2
    assert chunk.page_at(chunk.text.index("polite")) == 1


# -- text --------------------------------------------------------------------------------------------


def test_hyphenated_line_breaks_joined() -> None:
    assert join_lines(["No corporal punish-", "ment shall be used."]) == "No corporal punishment shall be used."
    # A hyphen before a capital or a number is kept: it is not a broken word.
    assert join_lines(["See Part II-", "A of the rules."]) == "See Part II- A of the rules."
    assert join_lines(["Between 2010-", "2015 the rules changed."]) == "Between 2010- 2015 the rules changed."


def test_list_items_start_new_lines() -> None:
    assert join_lines(["The following apply:", "(a) Letters;", "(b) Visits.", "\u2022 Calls."]) == (
        "The following apply:\n(a) Letters;\n(b) Visits.\n\u2022 Calls."
    )


def test_hyphenated_break_across_pages_joined_in_chunk() -> None:
    pages = [
        _page(1, "Rule 1", "Collective punish-"),
        _page(2, "ment shall be prohibited.", "Rule 2", "Text two.", "Rule 3", "Text three."),
    ]
    chunk = _chunks(pages)[0]
    assert "Collective punishment shall be prohibited." in chunk.text
    assert (chunk.page_start, chunk.page_end) == (1, 2)


# -- ids ---------------------------------------------------------------------------------------------

_ID_PAGES = [
    ("Rule 1", "All prisoners shall be treated with respect."),
    ("Rule 2", "There shall be no discrimination."),
    ("Rule 3", _sentence(1)),
]


def _id_chunks() -> list[Chunk]:
    pages = [_page(1, *[text for pair in _ID_PAGES for text in pair])]
    return _chunks(pages, doc_id="rules", title="Test Rules")


def test_content_hash_ids_stable_across_runs() -> None:
    first = [c.id for c in _id_chunks()]
    second = [c.id for c in _id_chunks()]
    assert first == second
    assert len(set(first)) == len(first)
    for chunk in _id_chunks():
        assert chunk.id == chunk_id(chunk.doc_id, chunk.title, chunk.ref, chunk.headings, chunk.text)
        assert re.fullmatch(r"[0-9a-f]{24}", chunk.id)


def test_content_hash_ids_stable_across_processes() -> None:
    code = (
        "import json, sys; sys.path.insert(0, 'tests/ingest');"
        "from test_structure_chunking import _id_chunks;"
        "print(json.dumps([c.id for c in _id_chunks()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [c.id for c in _id_chunks()]


def test_ids_change_with_text_title_and_doc() -> None:
    base = chunk_id("doc", "Title", "Rule 1", ["Part I"], "Text.")
    assert chunk_id("doc", "Title", "Rule 1", ["Part I"], "Text!") != base
    assert chunk_id("doc", "Other", "Rule 1", ["Part I"], "Text.") != base
    assert chunk_id("doc2", "Title", "Rule 1", ["Part I"], "Text.") != base
    assert chunk_id("doc", "Title", "Rule 2", ["Part I"], "Text.") != base


def test_repeated_passage_stored_once() -> None:
    blocks = [
        Block(ref="", headings=["Table"], lines=_page(1, *[_sentence(i) for i in range(5)])),
        Block(ref="", headings=["Other"], lines=_page(1, "Something in between that is different.")),
        Block(ref="", headings=["Table"], lines=_page(2, *[_sentence(i) for i in range(5)])),
    ]
    chunks = Chunker().run("doc", "Doc", blocks)
    assert len(chunks) == len({c.id for c in chunks}) == 2


# -- sentences ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Staff shall act. Prisoners shall rest! Why? Yes.",
            ["Staff shall act.", "Prisoners shall rest!", "Why?", "Yes."],
        ),
        ("Items, e.g. books, are allowed. Next one.", ["Items, e.g. books, are allowed.", "Next one."]),
        ("See art. 5 of the Convention. Done.", ["See art. 5 of the Convention.", "Done."]),
        ("The following apply:\n(a) Letters;\n(b) Visits.", ["The following apply:", "(a) Letters;", "(b) Visits."]),
        ("1. Every prisoner shall eat. 2. Another rule.", ["1. Every prisoner shall eat.", "2. Another rule."]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("Dr. Smith examined J. Brown today. Fine.", ["Dr. Smith examined J. Brown today.", "Fine."]),
        ("no capital after. the stop", ["no capital after. the stop"]),
        ("", []),
        ("   ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_sentence_spans_index_the_text() -> None:
    text = "  First sentence here.  Second one follows!\nThird? "
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["First sentence here.", "Second one follows!", "Third?"]
    assert all(0 <= a < b <= len(text) for a, b in spans)


# -- flow documents (DOCX, HTML, Markdown): marked headings, paragraphs as locations ------------------


def _paragraphs(*items: str | tuple[str, int]) -> list[list[Line]]:
    """One location per paragraph; a (text, level) pair is a marked heading."""
    out = []
    for number, item in enumerate(items, start=1):
        text, level = item if isinstance(item, tuple) else (item, 0)
        out.append([Line(text=text, page=number, heading_level=level)])
    return out


def test_flow_headings_are_the_marked_ones_with_their_enclosing_levels() -> None:
    paragraphs = _paragraphs(
        ("Security manual", 1),
        ("Keys", 2),
        "Keys are drawn at the gate.",
        "Short line",  # a short line is body text in a flow document, not a guessed heading
        ("Lost keys", 3),
        "Report a lost key at once.",
        ("Tools", 2),
        "Tools are counted daily.",
    )
    blocks = StructureParser(paged=False).run(paragraphs)
    assert [(b.headings, [line.text for line in b.lines]) for b in blocks] == [
        (["Security manual", "Keys"], ["Keys are drawn at the gate.", "Short line"]),
        (["Keys", "Lost keys"], ["Report a lost key at once."]),  # two levels kept, innermost last
        (["Security manual", "Tools"], ["Tools are counted daily."]),  # a level-2 heading closes level 3
    ]
    assert StructureParser(paged=False, flow_heading_depth=3).run(paragraphs)[1].headings == [
        "Security manual", "Keys", "Lost keys",
    ]  # fmt: skip


def test_flow_numbered_units_as_in_a_pdf() -> None:
    dotted = _paragraphs(
        ("2. Visits", 2), "2.1 Visits are booked.", "2.2 Visitors are searched.", "It takes ten minutes.",
        ("3. Mail", 2), "3.1 Mail is opened in front of the prisoner.", ("Notes", 3), "An unnumbered note.",
    )  # fmt: skip
    blocks = StructureParser(paged=False).run(dotted)
    assert [(b.ref, b.headings[-1]) for b in blocks] == [("2.1", "2. Visits"), ("2.2", "2. Visits"),
                                                         ("3.1", "3. Mail"), ("", "Notes")]  # fmt: skip
    named = _paragraphs(("Rule 1", 3), "Text one.", "Rule 2", "Text two.", ("Rule 3", 3), "Text three.")
    blocks = StructureParser(paged=False).run(named)
    assert [(b.ref, b.headings, b.lines[0].text) for b in blocks] == [
        ("Rule 1", [], "Text one."), ("Rule 2", [], "Text two."), ("Rule 3", [], "Text three."),
    ]  # fmt: skip


def test_flow_paragraphs_stay_apart_in_a_chunk() -> None:
    paragraphs = _paragraphs(("Kitchen", 1), "Knives are counted by the duty-", "officer at noon.", "Tools too.")
    blocks = StructureParser(paged=False).run(paragraphs)
    (chunk,) = Chunker().run("doc", "Doc", blocks, paged=False)
    # In a PDF the lines would run on across the page break ("duty-officer"); paragraphs do not.
    assert chunk.text == "Knives are counted by the duty-\nofficer at noon.\nTools too."
    assert [(p.offset, p.page) for p in chunk.pages] == [(0, 2), (32, 3), (49, 4)]
    assert chunk.page_at(chunk.text.index("Tools")) == 4
    assert [p.text for p in page_texts("doc", paragraphs)] == [item[0].text for item in paragraphs]
