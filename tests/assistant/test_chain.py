"""The answer chain over a small generated index: citations, verification, refusal, follow-ups, filters."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pdf_factory import make_pdf, sample_rules_pages

from assistant.answer.decision import AnswerabilityPolicy
from assistant.answer.records import Answer, Turn
from assistant.answer.verify import QuoteVerifier
from assistant.chain import MAX_QUESTION_CHARS, Assistant, QuestionError, check_question
from assistant.condense import QueryCondenser
from assistant.language import PROFILES
from assistant.retrieval import HybridRetriever
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor
from ingest.textnorm import normalize_for_match

VISITS_PAGES = [
    [
        "1. Purpose",
        "1.1 This framework sets out how establishments manage the security of social and legal visits.",
        "1.2 Visitors must prove their identity before entering the visits hall.",
        "2. Searching",
        "2.1 All visitors are searched before the visit.",
        "A visitor who refuses to be searched is refused entry to the visit.",
        "2.2 Children visiting a prisoner must be accompanied by an adult and may be searched only with consent.",
    ]
]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fakes import FakeEmbedder

    root = tmp_path_factory.mktemp("chain")
    corpus = root / "pdf"
    make_pdf(corpus / "rules.pdf", sample_rules_pages())
    make_pdf(corpus / "visits.pdf", VISITS_PAGES, header=None, footer_counter=False)
    index = root / "index"
    Ingestor(index, FakeEmbedder(), progress=False).run([corpus])  # type: ignore[arg-type]
    return index


@pytest.fixture()
def assistant_(small_index: Path) -> Assistant:
    from fakes import FakeEmbedder

    snapshot = IndexSnapshot.open(small_index)
    retriever = HybridRetriever.build(snapshot, FakeEmbedder())  # type: ignore[arg-type]
    # The fake embedder's similarities are not those of the real model: caution only on no evidence.
    return Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))


@pytest.mark.unit
def test_answer_quotes_the_rule_with_ref_and_page(assistant_: Assistant) -> None:
    answer = assistant_.ask("communicate with their family and friends by letter and visit")
    assert not answer.refused
    first = answer.citations[0]
    assert first.doc == "rules"
    assert first.ref == "Rule 4"
    assert first.pages == [2]
    assert "communicate" in first.quote
    assert "[1]" in answer.answer
    assert f"[1] {first.label()}" in answer.answer
    assert first.label() == "rules, Rule 4, p. 2"


@pytest.mark.unit
def test_every_citation_occurs_on_its_cited_page(assistant_: Assistant, small_index: Path) -> None:
    snapshot = IndexSnapshot.open(small_index)
    for question in ["solitary confinement as a sanction", "file management system", "refuses to be searched"]:
        for citation in assistant_.ask(question).citations:
            pages_text = " ".join(snapshot.page_text(citation.doc, p) or "" for p in citation.pages)
            assert normalize_for_match(citation.quote) in normalize_for_match(pages_text)


@pytest.mark.unit
def test_a_quote_stays_within_one_rule(assistant_: Assistant, small_index: Path) -> None:
    # Rules share chunks and pages; a quote must come from one rule (the page prints "Rule 2" between them).
    chunks = IndexSnapshot.open(small_index).chunks
    citations = assistant_.ask("treated with respect and applied impartially without discrimination").citations
    assert citations
    for citation in citations:
        chunk = next(c for c in chunks if citation.quote in c.text)
        start = chunk.text.index(citation.quote)
        end = start + len(citation.quote) - 1
        assert chunk.ref_at(start) == chunk.ref_at(end) == citation.ref


@pytest.mark.unit
def test_verifier_rejects_a_quote_not_on_the_page(small_index: Path, caplog: pytest.LogCaptureFixture) -> None:
    verifier = QuoteVerifier(IndexSnapshot.open(small_index))
    assert verifier.verify("rules", [2], "Prisoners shall be allowed, under necessary supervision, to communicate")
    with caplog.at_level(logging.ERROR):
        assert not verifier.verify("rules", [1], "Prisoners shall be allowed, under necessary supervision")
        assert not verifier.verify("rules", [2], "Prisoners shall never be allowed visits")
    assert "quote not found" in caplog.text


@pytest.mark.unit
def test_weak_evidence_shows_the_closest_passages_under_a_caution(small_index: Path) -> None:
    from fakes import FakeEmbedder

    retriever = HybridRetriever.build(IndexSnapshot.open(small_index), FakeEmbedder())  # type: ignore[arg-type]
    strict = Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=5.0))
    answer = strict.ask("communicate with their family and friends by letter and visit")
    assert answer.state == "closest" and not answer.refused
    assert answer.answer.startswith(PROFILES["en"].texts.caution)
    assert answer.citations and answer.citations[0].quote in answer.answer  # the quotes are still shown
    assert answer.to_json_dict()["state"] == "closest"


@pytest.mark.unit
def test_not_covered_says_what_is_missing_names_documents_and_lists_closest(small_index: Path) -> None:
    from fakes import FakeEmbedder

    retriever = HybridRetriever.build(IndexSnapshot.open(small_index), FakeEmbedder())  # type: ignore[arg-type]
    strict = Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=5.0))
    answer = strict.ask("What pension do officers in Ruritania get after thirty years?")
    assert answer.refused and answer.state == "not_covered"
    assert answer.citations == []
    assert "The documents never mention Ruritania." in answer.answer
    assert answer.reasons == ["The documents never mention Ruritania."]
    assert "Documents searched:" in answer.answer and "Closest passages:" in answer.answer
    assert set(answer.documents_searched) == {"rules", "visits"}


@pytest.mark.unit
def test_a_place_the_rules_apply_in_is_answered_with_a_note_not_refused_as_unknown(small_index: Path) -> None:
    from fakes import FakeEmbedder

    from assistant.answer.names import AliasGroup, AliasTable, NameIndex

    retriever = HybridRetriever.build(IndexSnapshot.open(small_index), FakeEmbedder())  # type: ignore[arg-type]
    policy = AnswerabilityPolicy(answer_threshold=0.2)
    question = "Can prisoners in Ruritania communicate with their family and friends by letter?"
    plain = Assistant(retriever, answerability=policy).ask(question)
    assert plain.refused and plain.reasons == ["The documents never mention Ruritania."]

    places = AliasGroup(names=["Ruritania", "Strelsau"], documents=["rules"], applies_in=True)
    named = Assistant(retriever, answerability=policy, names=NameIndex(aliases=AliasTable([places])))
    answer = named.ask(question)
    assert not answer.refused and answer.citations and answer.applies_in == ["Ruritania"]
    note = PROFILES["en"].texts.applies_in.format(names="Ruritania")
    assert note in answer.answer and answer.answer.index(note) < answer.answer.index("Supporting passages")
    assert answer.to_json_dict()["applies_in"] == ["Ruritania"]


@pytest.mark.unit
def test_document_filter_restricts_passages(assistant_: Assistant) -> None:
    answer = assistant_.ask("visitors searched before the visit", doc_ids=["rules"])
    assert answer.passages
    assert {p.doc for p in answer.passages} == {"rules"}
    assert answer.documents_searched == ["rules"]
    nothing = assistant_.ask("visitors searched", doc_ids=["no-such-doc"])
    assert nothing.refused and nothing.passages == []


@pytest.mark.unit
def test_json_shape(assistant_: Assistant) -> None:
    data: dict[str, Any] = assistant_.ask("refuses to be searched").to_json_dict()
    assert {"question", "answer", "refused", "state", "reasons", "citations", "passages", "timings_ms"} <= set(data)
    assert (data["state"], data["refused"]) == ("answered", False)
    citation = data["citations"][0]
    assert set(citation) == {
        *("n", "doc", "title", "ref", "pages", "quote", "suspicious", "cut_before", "cut_after"),
        *("section", "paragraphs", "format"),  # where the quote is in a document with or without pages
        "passage",  # the index of the passage the quote comes from
    }
    assert data["passages"][citation["passage"]]["doc"] == citation["doc"]
    assert (citation["format"], citation["paragraphs"]) == ("pdf", []) and citation["pages"]
    assert {"doc", "pages", "ref", "score", "text", "section", "paragraphs", "format"} <= set(data["passages"][0])
    assert "total" in data["timings_ms"]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "reason"),
    [("", "empty"), ("   \n ", "empty"), ("x" * (MAX_QUESTION_CHARS + 1), "too long"), ("?!? 123", "no words")],
)
def test_bad_questions_get_a_clear_message(question: str, reason: str) -> None:
    with pytest.raises(QuestionError, match=reason):
        check_question(question)


@pytest.mark.unit
def test_non_text_question_is_rejected() -> None:
    with pytest.raises(QuestionError, match="expected text"):
        check_question(b"bytes")


@pytest.mark.unit
def test_follow_up_carries_the_topic() -> None:
    condenser = QueryCondenser()
    history = [Turn(question="How long can a prisoner be kept in solitary confinement?")]
    assert condenser.condense("and for young prisoners?", history).startswith("How long can a prisoner")
    assert condenser.condense("what if he refuses?", history).endswith("what if he refuses?")
    standalone = "Can visitors be searched before entering the visits hall?"
    assert condenser.condense(standalone, history) == standalone
    assert condenser.condense("and for young prisoners?", []) == "and for young prisoners?"


@pytest.mark.unit
def test_follow_up_in_the_chain_searches_with_context(assistant_: Assistant) -> None:
    first = assistant_.ask("Can visitors be searched before the visit?")
    turn = Turn(question=first.question, answer=first.answer, standalone=first.standalone_question)
    follow = assistant_.ask("and children?", history=[turn])
    assert follow.standalone_question.startswith("Can visitors be searched")
    assert any(c.doc == "visits" for c in follow.citations)


@pytest.mark.unit
def test_fragments_are_listed_but_not_quoted(small_index: Path) -> None:
    from assistant.answer.compose import ComposeRequest, ExtractiveComposer
    from assistant.retrieval import ScoredChunk

    snapshot = IndexSnapshot.open(small_index)
    full = next(c for c in snapshot.chunks if c.ref == "Rule 4")
    fragment = full.model_copy(update={"text": "Legal aid; Visits; and"})
    composer = ExtractiveComposer()
    hits = [ScoredChunk(fragment, 1.0), ScoredChunk(full, 0.9)]
    composition = composer.compose(ComposeRequest("visit", "en", ["visit"], hits, {}, QuoteVerifier(snapshot)))
    assert [c.ref for c in composition.citations] == ["Rule 4"]
    assert [c.passage for c in composition.citations] == [1]
    assert all("Legal aid; Visits; and" not in c.quote for c in composition.citations)


@pytest.mark.unit
def test_cyrillic_question_is_never_not_covered_on_lexical_evidence(assistant_: Assistant) -> None:
    answer = assistant_.ask("Сколько дней можно держать заключённого в Калифорнии в одиночной камере?")
    assert answer.state in {"answered", "closest"} and not answer.refused
    assert answer.evidence is not None and not answer.evidence.lexical_checks


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "lang", "note"),
    [
        ("Можно ли читать письма заключённого к адвокату?", "ru", "английском"),
        ("Сотталғанның адвокатқа жазған хаттарын оқуға бола ма?", "kk", "ағылшын"),
        ("Can we read a prisoner's letters to his lawyer?", "en", ""),
    ],
)
def test_the_answer_says_in_the_question_language_that_quotes_are_in_english(
    assistant_: Assistant, question: str, lang: str, note: str
) -> None:
    answer = assistant_.ask(question)
    assert answer.lang == lang
    assert (note in answer.language_note) if note else answer.language_note == ""
    data = answer.to_json_dict()
    assert (data["lang"], data["language_note"]) == (lang, answer.language_note)


@pytest.mark.unit
@pytest.mark.parametrize(
    "question",
    [
        "communicate with their family and friends by letter and visit",  # answered
        "What pension do officers in Ruritania get after thirty years?",  # not covered
        "Можно ли читать письма заключённого к адвокату?",  # Russian
    ],
)
def test_run_stream_and_ask_give_the_same_answer(assistant_: Assistant, question: str) -> None:
    events = list(assistant_.run(question))
    final = events[-1]
    assert isinstance(final, Answer) and not any(isinstance(e, Answer) for e in events[:-1])
    assert [e.stage for e in events[:-1]] == ["retrieved", "composed"]  # progress, then the answer
    streamed = list(assistant_.stream(question))[-1]
    asked = assistant_.ask(question)
    same = {"timings_ms": {}}  # only the timings differ from one run to the next
    assert final.model_copy(update=same) == asked.model_copy(update=same) == streamed.model_copy(update=same)
    assert final.answer == asked.answer and final.lead == asked.lead
    assert assistant_.runnable().invoke({"question": question}).answer == asked.answer  # LangChain: the same path


@pytest.mark.unit
def test_the_answer_is_data_and_its_text_is_rendered_from_it(assistant_: Assistant) -> None:
    from assistant.answer.render import answer_text

    answer = assistant_.ask("communicate with their family and friends by letter and visit")
    assert answer.answer == answer_text(answer)
    assert answer.lead and all(s.text in answer.citations[s.n - 1].quote for s in answer.lead)
    for citation in answer.citations:  # each citation names the passage its quote comes from
        assert citation.passage is not None
        assert normalize_for_match(citation.quote) in normalize_for_match(answer.passages[citation.passage].text)
    data = answer.to_json_dict()
    assert data["lead"] == [{"text": s.text, "n": s.n, "passage": s.passage} for s in answer.lead]
    lead_words = answer.answer.split("\n\n")[0]
    assert lead_words.startswith("\u201c") and len(lead_words.split()) <= 60 + len(answer.lead)
