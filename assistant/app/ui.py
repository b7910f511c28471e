"""The gradio page: chat with source cards and page viewer, feedback, export, and the trainers' topic brief.

No `from __future__ import annotations` here: gradio reads the handlers' type hints at
run time to pass `gr.Request` / `gr.LikeData`, and string annotations can hide them.
"""

import hashlib
import html
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gradio as gr
from gradio.components import Component

from assistant.answer.injection import SUSPICIOUS_NOTE, looks_injected
from assistant.answer.records import Answer, AnswerDelta, Citation, Turn
from assistant.answer.render import answer_markdown as render_answer
from assistant.answer.render import caution_text, citation_label, md_escape, pages_label, plain_json, plain_text
from assistant.app.export import Exchange, conversation_markdown
from assistant.app.feedback import FeedbackError, FeedbackRecord, FeedbackStore
from assistant.app.guard import RateLimited, RateLimiter, client_key
from assistant.app.i18n import answer_texts, browser_language, count, gradio_i18n, message
from assistant.app.pdf_pages import PageRenderer, SourceDocuments, SourceNotFound
from assistant.app.roles import Access, AccessDenied, Feature
from assistant.app.section_view import SectionView
from assistant.app.warm import WarmAssistant
from assistant.chain import MAX_QUESTION_CHARS, QuestionError, check_question
from assistant.language import Language
from assistant.review.question_log import QuestionLog
from assistant.review.question_log import Source as LogSource

log = logging.getLogger(__name__)

EXAMPLES = [
    "Can we read a prisoner's letters to his lawyer?",
    "How long can someone be kept in segregation?",
    "A visitor refuses to be searched — what now?",
    "What do we have to record when a prisoner is admitted?",
]
QUIZ_KINDS: dict[str, Literal["cloze", "multiple-choice", "mixed"]] = {
    "mixed": "mixed",
    "cloze": "cloze",
    "multiple-choice": "multiple-choice",
}
APOLOGY = "Sorry, something went wrong while answering. The error has been logged; please try again."
WARM_WAIT_S = 900.0  # a question asked during warm-up waits this long at most
STREAM_WORDS = 60  # words per streamed piece of a long quote
STREAM_PAUSE_S = 0.02  # lets the browser paint each piece

CSS = """
.hb-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;
           background: var(--background-fill-secondary); }
.hb-card-head { font-weight: 600; margin-bottom: 4px; }
.hb-card-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.hb-passage { white-space: pre-wrap; font-size: 0.92em; line-height: 1.45; margin: 0 0 6px 0;
               max-height: 16em; overflow-y: auto; }
.hb-passage mark, .hb-page-passage mark { background: #fde68a; color: #111; padding: 0 1px; }
.hb-card a, .hb-page-text a { font-size: 0.9em; }
.hb-suspicious { color: #b45309; font-size: 0.9em; margin-bottom: 6px; }
.hb-note { color: var(--body-text-color-subdued); font-size: 0.9em; }
.hb-page-passage { white-space: pre-wrap; line-height: 1.5; }
.hb-section mark { background: #fde68a; color: #111; padding: 0 1px; }
.hb-section .hb-para { white-space: pre-wrap; line-height: 1.5; margin: 0 0 8px 0; }
.hb-section .hb-para-n { font-size: 0.8em; color: var(--body-text-color-subdued); }
"""


Updates = dict[Component, Any]
"""What a handler returns: the new value of each component it changes. gradio leaves the listener's
other outputs as they are, so no handler depends on the order of a listener's `outputs`."""


@dataclass(frozen=True)
class StatusView:
    """The line that says whether the assistant is loaded, and the timer that refreshes it."""

    text: gr.Markdown
    timer: gr.Timer


@dataclass(frozen=True)
class ChatView:
    """The components of the chat tab that handlers change."""

    chatbot: gr.Chatbot
    exchanges: gr.State
    cards: gr.HTML
    pick: gr.Dropdown
    question: gr.Textbox
    export: gr.DownloadButton
    page_image: gr.Image
    page_text: gr.HTML
    feedback_status: gr.Markdown
    comment: gr.Textbox


@dataclass(frozen=True)
class BriefView:
    """The components of the trainers' tab that handlers change."""

    brief: gr.Markdown
    brief_md_file: gr.DownloadButton
    brief_docx_file: gr.DownloadButton
    brief_state: gr.State
    quiz: gr.Markdown
    quiz_md_file: gr.DownloadButton
    quiz_docx_file: gr.DownloadButton


@dataclass(frozen=True)
class Page:
    """The page `HandbookApp.build()` made: the Blocks, and the components its handlers' results are keyed by."""

    blocks: gr.Blocks
    status: StatusView
    chat: ChatView
    brief: BriefView


@dataclass(frozen=True)
class Source:
    """One thing the sources panel lists: a citation of the answer, or a retrieved passage after a refusal."""

    key: str  # "c<n>" for citation n, "p<i>" for passage i
    doc: str
    title: str
    ref: str
    pages: list[int]
    passage: str
    quote: str  # the verbatim quote to highlight; "" for a passage that was not quoted
    suspicious: bool = False  # contains text addressed to an AI system (assistant.answer.injection)
    section: str = ""  # the innermost heading
    paragraphs: list[int] = field(default_factory=list)  # a flow document's (DOCX, HTML, Markdown); no pages
    around: list[int] = field(default_factory=list)  # the paragraphs of the whole passage, for the section view

    @property
    def paged(self) -> bool:
        return not self.paragraphs

    def label(self) -> str:
        head = f"[{self.key[1:]}]" if self.key.startswith("c") else "(related)"
        locations = self.pages or self.paragraphs
        return citation_label(f"{head} {self.title}", self.ref, locations, paged=self.paged, section=self.section)


def answer_sources(answer: Answer) -> list[Source]:
    """The citations with the passage each quote comes from; after a refusal, the top passages."""
    if answer.citations:
        return [_citation_source(answer, c) for c in answer.citations]
    return [
        Source(
            f"p{i}",
            p.doc,
            p.title,
            p.ref,
            p.pages,
            p.text,
            "",
            looks_injected(p.text),
            section=p.section,
            paragraphs=p.paragraphs,
            around=p.paragraphs,
        )
        for i, p in enumerate(answer.passages[:3], 1)
    ]


def _citation_source(answer: Answer, citation: Citation) -> Source:
    # The citation names the passage its quote comes from.
    index = citation.passage
    passage = answer.passages[index] if index is not None and 0 <= index < len(answer.passages) else None
    return Source(
        f"c{citation.n}",
        citation.doc,
        citation.title,
        citation.ref,
        citation.pages,
        passage.text if passage else citation.quote,
        citation.quote,
        citation.suspicious,
        section=citation.section,
        paragraphs=citation.paragraphs,
        around=passage.paragraphs if passage else citation.paragraphs,
    )


def _loose_pattern(quote: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(re.escape(word) for word in quote.split()))


def highlight(passage: str, quote: str) -> str:
    """The passage as HTML, every character escaped, with the quoted words in <mark>; no control characters."""
    passage, quote = plain_text(passage), plain_text(quote)
    if quote:
        start = passage.find(quote)
        end = start + len(quote)
        if start < 0:
            match = _loose_pattern(quote).search(passage)
            start, end = (match.start(), match.end()) if match else (-1, -1)
        if start >= 0:
            return (
                html.escape(passage[:start])
                + "<mark>"
                + html.escape(passage[start:end])
                + "</mark>"
                + html.escape(passage[end:])
            )
    return html.escape(passage)


def pdf_link(doc: str, page: int) -> str:
    # Relative, so it also works when the app is served under a path prefix.
    return f"pdf/{html.escape(doc, quote=True)}#page={int(page)}"


def source_cards(
    sources: Sequence[Source],
    kinds: dict[str, str],
    refused: bool = False,
    closest: bool = False,
    lang: Language = "en",
) -> str:
    if not sources:
        return '<p class="hb-note">The sources of the answer appear here.</p>'
    parts = []
    if refused:
        parts.append(
            '<p class="hb-note">No answer was given. These passages came closest; they were <b>not</b> judged '
            "to answer the question.</p>"
        )
    elif closest:
        parts.append(f'<p class="hb-note hb-caution">\u26a0\ufe0f {html.escape(caution_text(answer_texts(lang)))}</p>')
    for s in sources:
        first = (s.pages or s.paragraphs or [1])[0]
        meta = " · ".join(html.escape(plain_text(x)) for x in (kinds.get(s.doc, ""), s.doc) if x)
        head = html.escape(plain_text(s.label()))
        parts.append(
            f'<div class="hb-card" data-doc="{html.escape(s.doc, quote=True)}" data-page="{first}">'
            f'<div class="hb-card-head">{head}</div>'
            f'<div class="hb-card-meta">{meta}</div>'
            + (f'<div class="hb-suspicious">{html.escape(SUSPICIOUS_NOTE)}</div>' if s.suspicious else "")
            + f'<div class="hb-passage">{highlight(s.passage, s.quote)}</div>'
            + (
                f'<a href="{pdf_link(s.doc, first)}" target="_blank" rel="noopener">'
                f"Open the PDF at {pages_label(s.pages)}</a>"
                if s.paged
                else ""  # a flow document: "Open a source" shows its located section
            )
            + "</div>"
        )
    parts.append('<p class="hb-note">Choose a source under “Open a source” to see its printed page or section.</p>')
    return "\n".join(parts)


def answer_markdown(answer: Answer, lang: Language = "en") -> str:
    """The answer as the chat shows it (assistant/answer/render.py lays it out: the lead, then the supporting passages,
    the first two open), the chat's own words in the page's language `lang`, document text escaped."""
    lines: list[str] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        lines += [f"_{md_escape(message(lang, 'searched_as', query=answer.standalone_question))}_", ""]
    if answer.note:
        lines += [f"> \u26a0\ufe0f {md_escape(answer.note)}", ""]
    lines.append(render_answer(answer, answer_texts(lang)))
    if answer.refused or not answer.citations:
        return "\n".join(lines).rstrip()
    if answer.mode == "generated":
        lines.append(f"_Written by {md_escape(answer.model)}; each sentence was checked against the passage it cites._")
    elif answer.lead_kind == "generated":
        lines.append(
            f"_The first lines were written by {md_escape(answer.model)}; "
            "each was checked against the passage it cites._"
        )
    confidence = message(lang, "confidence", confidence=f"{answer.confidence:.2f}")
    lines.append(f"_{md_escape(confidence)}_")
    return "\n".join(lines)


def stream_pieces(text: str, words: int = STREAM_WORDS) -> list[str]:
    """Growing prefixes of `text`, cut at paragraph ends and every `words` words, ending with the whole text.

    Paragraphs, not lines: each piece re-sends the whole conversation, so under load (50 sessions
    on 2 cores) a few pieces per answer keep the answer slots free for the next question.
    """
    cuts: list[int] = []
    position = 0
    for paragraph in re.split(r"(?<=\n\n)", text):
        spans = [m.end() for m in re.finditer(r"\S+\s*", paragraph)]
        for i in range(words, len(spans), words):
            cuts.append(position + spans[i - 1])
        position += len(paragraph)
        cuts.append(position)
    prefixes = [text[:c].rstrip() for c in cuts if text[:c].strip()]
    return [p for i, p in enumerate(prefixes) if i == 0 or p != prefixes[i - 1]] or [text]


def _session_key(request: gr.Request | None) -> str:
    raw = getattr(request, "session_hash", None) or "anonymous"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]  # never a client string in a path


def _limit(limiter: RateLimiter | None, request: gr.Request | None) -> None:
    """Counts one request of this client (its user, else its address) against `limiter`; raises `RateLimited`
    over the limit. Not per session: the REST API lets a client leave out or invent its session hash."""
    if limiter is not None:
        client = getattr(request, "client", None) if request is not None else None
        user = getattr(request, "username", None) if request is not None else None
        limiter.check(client_key(getattr(client, "host", None), user if isinstance(user, str) else None))


def _download(path: Path | None) -> Any:
    """A download button offering `path`, or greyed out when there is nothing to download."""
    if path is None:
        return gr.DownloadButton(value=None, interactive=False)
    return gr.DownloadButton(value=str(path), interactive=True)


def _page_language(request: gr.Request | None) -> Language:
    """The page's language (the browser's): the language of the chat's own words."""
    headers = getattr(request, "headers", None) if request is not None else None
    return browser_language(headers.get("accept-language") if headers is not None else None)


def _chat_messages(
    exchanges: Sequence[Exchange], pending: str | None = None, lang: Language = "en"
) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    for ex in exchanges:
        messages.append({"role": "user", "content": md_escape(ex.question)})
        shown = answer_markdown(ex.answer, lang) if ex.answer is not None else f"\u26a0\ufe0f {md_escape(ex.notice)}"
        messages.append({"role": "assistant", "content": shown})
    if pending is not None:
        messages[-1]["content"] = pending
    return messages


class HandbookApp:
    """Builds the page and holds its handlers (plain methods, so tests can call them directly)."""

    def __init__(
        self,
        warm: WarmAssistant,
        documents: list[dict[str, Any]],
        feedback: FeedbackStore,
        sources: SourceDocuments,
        renderer: PageRenderer,
        export_dir: Path,
        answer_concurrency: int = 2,
        question_limit: RateLimiter | None = None,
        feedback_limit: RateLimiter | None = None,
        access: Access | None = None,
        question_log: QuestionLog | None = None,
        role_tabs: Sequence[Any] = (),
    ) -> None:
        self.warm = warm
        self.documents = documents
        self.doc_ids = {d["id"] for d in documents}
        self.kinds = {d["id"]: d["kind"] for d in documents}
        self.feedback = feedback
        self.sources = sources
        self.renderer = renderer
        self.export_dir = Path(export_dir)
        self.answer_concurrency = answer_concurrency
        self.question_limit = question_limit
        self.feedback_limit = feedback_limit
        self.access = access or Access()  # roles (assistant/app/roles.py); no login: the chat and the brief
        self.question_log = question_log  # None: HANDBOOK_QUESTION_LOG=off
        self.role_tabs = list(role_tabs)  # the evaluators' tabs (assistant/app/review_tab.py)
        self._gated: list[tuple[gr.Tab, Feature]] = []  # each tab beyond the chat, with what it needs
        # The page's static text in English, Russian and Kazakh: gradio picks by the browser's language.
        self.i18n = gradio_i18n(MAX_QUESTION_CHARS)
        self._page: Page | None = None

    @property
    def page(self) -> Page:
        """The built page; handlers key their results by its components, so `build()` comes first."""
        if self._page is None:
            raise RuntimeError("HandbookApp.build() makes the components the handlers update; call it first")
        return self._page

    def index_changed(self, assistant: Any) -> None:
        """An ingest switched the index: its documents become searchable and their pages viewable."""
        self.documents = assistant.documents()
        self.doc_ids = {d["id"] for d in self.documents}
        self.kinds = {d["id"]: d["kind"] for d in self.documents}
        self.sources.documents = dict(assistant.snapshot.meta.documents)

    # ---- chat -------------------------------------------------------------------------

    def respond(
        self, question: str, exchanges: list[Exchange] | None, doc_filter: list[str] | None, request: gr.Request
    ) -> Iterator[Updates]:
        """Streams the answer into the chat; then fills the source cards, the source picker and the export."""
        exchanges = list(exchanges or [])
        try:
            text = check_question(question)
            _limit(self.question_limit, request)
        except (QuestionError, RateLimited) as exc:
            exchanges.append(Exchange(question=str(question or "")[:200] or "(empty)", notice=str(exc)))
            yield self._settled(exchanges, request, keep_sources=True, question=question)
            return
        exchange = Exchange(question=text)
        exchanges.append(exchange)
        lang = _page_language(request)
        waiting = f"_{message(lang, 'searching' if self.warm.ready else 'loading')}_"
        yield self._pending(exchanges, waiting, lang)
        answer: Answer | None = None
        written: list[str] = []
        draft: Answer | None = None  # the extractive answer, shown while a generated lead is written
        lead: list[str] = []
        try:
            for event in self._answer_events(text, exchanges[:-1], doc_filter):
                if isinstance(event, Answer):
                    answer = event
                    continue
                if event.stage == "extractive" and event.answer is not None:
                    draft = event.answer
                    yield self._pending(exchanges, answer_markdown(draft, lang), lang)
                    continue
                if event.stage == "lead" and draft is not None:
                    # A checked sentence of the generated lead: it takes the extractive lead's place, above the quotes.
                    lead.append(event.text)
                    below = answer_markdown(draft.model_copy(update={"lead": []}), lang)
                    yield self._pending(exchanges, f"{md_escape(' '.join(lead))}\n\n{below}", lang)
                    continue
                if not event.text:
                    continue  # a stage of the pipeline reached: nothing to show yet
                # A generated answer, sentence by sentence, each already checked against its passage.
                written.append(event.text)
                pending = f"_{message(lang, 'checking')}_\n\n{md_escape(' '.join(written))}"
                yield self._pending(exchanges, pending, lang)
            assert answer is not None
        except QuestionError as exc:
            exchange.notice = str(exc)
            yield self._settled(exchanges, request, keep_sources=True)
            return
        except Exception:
            log.exception("answering failed for a question of %d characters", len(text))
            exchange.notice = APOLOGY
            yield self._settled(exchanges, request, keep_sources=True)
            return
        shown = answer_markdown(answer, lang)
        for piece in stream_pieces(shown)[:-1] if not written and draft is None else []:
            yield self._pending(exchanges, piece, lang)
            time.sleep(STREAM_PAUSE_S)
        exchange.answer = answer
        self._log_answer(answer, request, "app")
        yield self._settled(exchanges, request)

    def _answer_events(
        self, text: str, earlier: Sequence[Exchange], doc_filter: Sequence[str] | None
    ) -> Iterator[AnswerDelta | Answer]:
        history = [
            Turn(question=e.question, answer=e.answer.answer, standalone=e.answer.standalone_question)
            for e in earlier
            if e.answer is not None
        ]
        doc_ids = [d for d in (doc_filter or []) if d in self.doc_ids]
        return self.warm.get(WARM_WAIT_S).stream(text, history=history, doc_ids=doc_ids)

    def _pending(self, exchanges: list[Exchange], text: str, lang: Language = "en") -> Updates:
        """The chat with `text` where the answer will be, and the question box emptied; sources unchanged."""
        c = self.page.chat
        return {c.chatbot: _chat_messages(exchanges, pending=text, lang=lang), c.exchanges: exchanges, c.question: ""}

    def _settled(
        self, exchanges: list[Exchange], request: gr.Request | None, keep_sources: bool = False, question: str = ""
    ) -> Updates:
        """The chat and export once a question is settled (answered or not); the latest answer's sources too,
        unless `keep_sources` (a question that got no answer leaves the previous one's sources shown)."""
        c = self.page.chat
        lang = _page_language(request)
        updates: Updates = {
            c.chatbot: _chat_messages(exchanges, lang=lang),
            c.exchanges: exchanges,
            c.question: question,
            c.export: self._write_export(exchanges, request),
        }
        last = next((e.answer for e in reversed(exchanges) if e.answer is not None), None)
        if keep_sources or last is None:
            return updates
        turn = max(i for i, e in enumerate(exchanges) if e.answer is last)
        sources = answer_sources(last)
        choices = [(s.label(), f"{turn}:{s.key}") for s in sources]
        updates[c.pick] = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)
        closest = last.state == "closest"
        updates[c.cards] = source_cards(sources, self.kinds, refused=last.refused, closest=closest, lang=lang)
        return updates

    def _write_export(self, exchanges: list[Exchange], request: gr.Request | None) -> Any:
        if not any(e.answer is not None for e in exchanges):
            return _download(None)
        folder = self.export_dir / _session_key(request)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "handbook-conversation.md"
        path.write_text(conversation_markdown(exchanges), encoding="utf-8")
        return _download(path)

    def new_conversation(self) -> Updates:
        c = self.page.chat
        return {
            c.chatbot: [],
            c.exchanges: [],
            c.cards: source_cards([], self.kinds),
            c.pick: gr.Dropdown(choices=[], value=None),
            c.page_image: gr.update(value=None, visible=True),
            c.page_text: "",
            c.export: _download(None),
            c.feedback_status: "",
            c.question: "",
        }

    def ask_api(self, question: str, request: gr.Request | None = None) -> dict[str, Any]:
        """Answers one question: the JSON object of `handbook ask --json`."""
        try:
            _limit(self.question_limit, request)
            answer = self.warm.get(WARM_WAIT_S).ask(question)
            self._log_answer(answer, request, "api")
            return plain_json(answer.to_json_dict())  # type: ignore[no-any-return]
        except (QuestionError, RateLimited) as exc:  # the caller's mistake: no traceback in the operator's log
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("the /ask endpoint failed")
            raise gr.Error(APOLOGY, print_exception=False) from None  # logged in full just above

    # ---- source pages -----------------------------------------------------------------

    def show_page(self, choice: str | None, exchanges: list[Exchange] | None) -> Updates:
        """The chosen source: a PDF's printed page as an image, with the passage and a link to the PDF; the
        located section of a Word, HTML or Markdown document as HTML."""
        source = self._find_source(choice, exchanges or [])
        if source is None:
            return self._shown(None, '<p class="hb-note">Ask a question, then choose one of its sources.</p>')
        if not source.paged:  # DOCX, HTML, Markdown: no page image; the located section as HTML
            view = SectionView(self.warm.get(WARM_WAIT_S).snapshot)
            cited = (source.doc, source.label(), source.section, source.paragraphs, source.quote, source.around)
            return self._shown(None, view.html(*cited), image_box=False)
        page = source.pages[0] if source.pages else 1
        at = pages_label([page])
        link = f'<a href="{pdf_link(source.doc, page)}" target="_blank" rel="noopener">Open the PDF at {at}</a>'
        head = f"<h4>{html.escape(source.label())}</h4>"
        passage = f'<div class="hb-page-passage">{highlight(source.passage, source.quote)}</div>'
        try:
            image = self.renderer.render(self.sources.pdf_path(source.doc), page)
        except SourceNotFound as exc:
            log.warning("page view: %s", exc)
            return self._shown(
                None,
                f'{head}<p class="hb-note">The PDF is not available here ({html.escape(str(exc))}).</p>{passage}',
            )
        except Exception:
            log.exception("rendering %s p. %d failed", source.doc, page)
            return self._shown(None, f'{head}<p class="hb-note">The page could not be shown.</p>{passage}<p>{link}</p>')
        return self._shown(str(image), f'<div class="hb-page-text">{head}{passage}<p>{link}</p></div>')

    def _shown(self, image: str | None, text: str, image_box: bool = True) -> Updates:
        """The page view; a flow document's section has no page image, so its empty box is hidden."""
        c = self.page.chat
        return {c.page_image: gr.update(value=image, visible=image_box), c.page_text: text}

    @staticmethod
    def _find_source(choice: str | None, exchanges: Sequence[Exchange]) -> Source | None:
        if not choice or ":" not in choice:
            return None
        turn_text, key = choice.split(":", 1)
        if not turn_text.isdigit() or int(turn_text) >= len(exchanges):
            return None
        answer = exchanges[int(turn_text)].answer
        if answer is None:
            return None
        return next((s for s in answer_sources(answer) if s.key == key), None)

    # ---- feedback ---------------------------------------------------------------------

    def give_feedback(
        self, rating: str | None, comment: str | None, exchanges: list[Exchange] | None, request: gr.Request
    ) -> Updates:
        """Stores a rating (up/down) and optional comment for the latest answer; once stored, empties the box."""
        turn = next((i for i in range(len(exchanges or []) - 1, -1, -1) if (exchanges or [])[i].answer), None)
        if turn is None:
            return self._feedback_status("There is no answer to rate yet.", comment or "")
        if rating not in ("up", "down"):
            return self._feedback_status("Choose 👍 or 👎 first.", comment or "")
        try:
            _limit(self.feedback_limit, request)
            self._store(exchanges or [], turn, rating, comment or "", request)
        except (FeedbackError, RateLimited) as exc:
            return self._feedback_status(f"Not stored: {exc}", comment or "")
        except Exception:
            log.exception("storing feedback failed")
            return self._feedback_status("Sorry, the feedback could not be stored.", comment or "")
        return self._feedback_status("Thank you, your feedback was stored.", "")

    def on_like(self, exchanges: list[Exchange] | None, data: gr.LikeData, request: gr.Request) -> Updates:
        """The chat's thumb icons: rates the answer that was clicked."""
        index = data.index[0] if isinstance(data.index, (tuple, list)) else data.index
        turn = int(index) // 2  # two messages per exchange: question, answer
        rating = "up" if data.liked in (True, "Like") else "down" if data.liked in (False, "Dislike") else None
        items = exchanges or []
        if rating is None or turn >= len(items) or items[turn].answer is None:
            return self._feedback_status("")
        try:
            _limit(self.feedback_limit, request)
            self._store(items, turn, rating, "", request)
        except RateLimited as exc:
            return self._feedback_status(f"Not stored: {exc}")
        except Exception:
            log.exception("storing feedback failed")
            return self._feedback_status("Sorry, the feedback could not be stored.")
        return self._feedback_status("Thank you, your feedback was stored.")

    def _feedback_status(self, message: str, comment: str | None = None) -> Updates:
        """The feedback line; with `comment`, the comment box too (None leaves it as typed)."""
        c = self.page.chat
        return {c.feedback_status: message} if comment is None else {c.feedback_status: message, c.comment: comment}

    def _store(
        self, exchanges: Sequence[Exchange], turn: int, rating: str, comment: str, request: gr.Request | None
    ) -> int:
        answer = exchanges[turn].answer
        assert answer is not None
        return self.feedback.add(
            FeedbackRecord(
                question=answer.question,
                answer=answer.answer,
                rating="up" if rating == "up" else "down",
                citations=[c.model_dump() for c in answer.citations],
                comment=comment,
                standalone_question=answer.standalone_question,
                session=_session_key(request),
            )
        )

    # ---- status -----------------------------------------------------------------------

    def status(self, request: gr.Request | None = None) -> Updates:
        """The status line, in the browser's language; once the assistant is loaded (or failed to load) and no
        ingest improves the index, the timer that polls it stops."""
        lang = browser_language(request.headers.get("accept-language") if request is not None else None)
        text, loading = self._status_text(lang)
        s = self.page.status
        return {s.text: text} if loading else {s.text: text, s.timer: gr.Timer(active=False)}

    def _status_text(self, lang: Language = "en") -> tuple[str, bool]:
        """The status line, and whether it may still change (loading, or an ingest embedding e5)."""
        if self.warm.failed:
            return f"**{message(lang, 'status_failed')}**", False
        if self.warm.ready:
            ready = message(lang, "status_ready", n=len(self.documents))
            # `serve --ingest` answers before e5 has embedded every passage; the page says how far it is.
            progress = self.warm.improving()
            if progress is None:
                return ready, False
            done, total = count(lang, progress.done), count(lang, progress.total)
            improving = message(lang, "status_improving", done=done, total=total)
            return f"{ready} {improving}", True
        return message(lang, "status_loading"), True

    # ---- trainers: topic brief and quiz -----------------------------------------------

    def build_brief(self, topic: str | None, doc_filter: list[str] | None, request: gr.Request) -> Updates:
        """Topic brief: the passages of the documents on one topic, as Markdown, .md and .docx; clears the quiz."""
        try:
            self.access.require(request, "brief")
        except AccessDenied as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        try:
            text = check_question(topic)
            _limit(self.question_limit, request)
        except (QuestionError, RateLimited) as exc:
            reason = (
                str(exc)
                .replace("question:", "topic:", 1)
                .replace("type a question about prison rules or policy", "type a subject, e.g. segregation or visits")
            )
            return self._brief_result(f"**{reason}**")
        try:
            from assistant.trainers.brief import BriefBuilder

            doc_ids = tuple(d for d in (doc_filter or []) if d in self.doc_ids)
            brief = BriefBuilder(self.warm.get(WARM_WAIT_S)).build(text, doc_ids=doc_ids)
            folder = self.export_dir / _session_key(request)
            folder.mkdir(parents=True, exist_ok=True)
            stem = "brief-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "topic")
            markdown = brief.to_markdown()
            (folder / f"{stem}.md").write_text(markdown, encoding="utf-8")
            brief.to_docx(folder / f"{stem}.docx")
        except (QuestionError, ValueError) as exc:
            return self._brief_result(f"**{md_escape(str(exc))}**")
        except Exception:
            log.exception("building the topic brief failed")
            return self._brief_result(f"**{APOLOGY}**")
        return self._brief_result(markdown, folder / f"{stem}.md", folder / f"{stem}.docx", brief)

    def _brief_result(
        self, markdown: str, md_file: Path | None = None, docx_file: Path | None = None, brief: Any = None
    ) -> Updates:
        """The brief (or the message why there is none) with its downloads; the previous quiz is cleared."""
        b = self.page.brief
        return {
            b.brief: markdown,
            b.brief_md_file: _download(md_file),
            b.brief_docx_file: _download(docx_file),
            b.brief_state: brief,
            **self._quiz_result(""),
        }

    def make_quiz(self, brief: Any, n_questions: float, kind: str, request: gr.Request) -> Updates:
        """A quiz from the current brief, with its answer key."""
        try:
            self.access.require(request, "brief")
        except AccessDenied as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        if brief is None:
            return self._quiz_result("**Build a topic brief first.**")
        try:
            from assistant.trainers.quiz import QuizBuilder

            quiz_kind = QUIZ_KINDS.get(kind)
            if quiz_kind is None:
                raise ValueError(f"quiz type: expected one of {', '.join(QUIZ_KINDS)}, got {kind!r}")
            quiz = QuizBuilder(n_questions=int(n_questions), seed=0).build(brief, kind=quiz_kind)
            folder = self.export_dir / _session_key(request)
            folder.mkdir(parents=True, exist_ok=True)
            markdown = quiz.to_markdown(with_answers=True)
            (folder / "quiz.md").write_text(markdown, encoding="utf-8")
            quiz.to_docx(folder / "quiz.docx")
        except ValueError as exc:
            return self._quiz_result(f"**{md_escape(str(exc))}**")
        except Exception:
            log.exception("making the quiz failed")
            return self._quiz_result(f"**{APOLOGY}**")
        return self._quiz_result(markdown, folder / "quiz.md", folder / "quiz.docx")

    def _quiz_result(self, markdown: str, md_file: Path | None = None, docx_file: Path | None = None) -> Updates:
        b = self.page.brief
        return {b.quiz: markdown, b.quiz_md_file: _download(md_file), b.quiz_docx_file: _download(docx_file)}

    # ---- layout -----------------------------------------------------------------------

    def _doc_choices(self) -> list[tuple[str, str]]:
        return [(f"{d['short_title']} ({d['kind'] or 'document'})", d["id"]) for d in self.documents]

    def build(self) -> gr.Blocks:
        """Makes the page (once per app: the handlers' results are keyed by the components made here)."""
        t = self.i18n
        with gr.Blocks(title="Handbook Assistant", fill_width=True, delete_cache=(3600, 86400)) as blocks:
            exchanges = gr.State([])
            gr.Markdown(t("intro"))
            status = StatusView(
                gr.Markdown(self._status_text()[0], elem_id="hb-status"), gr.Timer(2.0, active=not self.warm.ready)
            )
            status.timer.tick(
                self.status,
                outputs=[status.text, status.timer],
                api_visibility="private",
                queue=False,
                show_progress="hidden",
            )
            with gr.Tab(t("tab_ask"), id="ask"):
                chat = self._chat_tab(exchanges)
            # With a login, the tabs beyond the chat appear once the account's role is known (`_tabs_for`).
            with gr.Tab(t("tab_brief"), id="brief", visible=not self.access.login) as brief_tab:
                brief = self._brief_tab()
            gated: list[tuple[gr.Tab, Feature]] = [(brief_tab, "brief")]
            for extra in self.role_tabs:
                with gr.Tab(extra.title, id=extra.tab_id, visible=False) as tab:
                    extra.build(tab)
                gated.append((tab, extra.feature))
            self._gated = gated
            blocks.load(self._tabs_for, outputs=[tab for tab, _ in gated], api_visibility="private", queue=False)
            gr.api(self.ask_api, api_name="ask", concurrency_id="answer", concurrency_limit=self.answer_concurrency)
        self._page = Page(blocks, status, chat, brief)
        return blocks

    def _tabs_for(self, request: gr.Request) -> Updates:
        """Shows each tab to the roles that may use it (the handlers check the role again)."""
        return {tab: gr.Tab(visible=self.access.allows(request, feature)) for tab, feature in self._gated}

    def _log_answer(self, answer: Answer, request: gr.Request | None, source: LogSource) -> None:
        """The answer into the question log, redacted, with the asker's role (never the user name or session)."""
        if self.question_log is not None:
            self.question_log.record(answer, source, self.access.role(request) or "")

    def _chat_tab(self, exchanges: gr.State) -> ChatView:
        t = self.i18n
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label=t("chat_label"),
                    elem_id="hb-chat",
                    height=520,
                    buttons=["copy", "copy_all"],
                    feedback_options=("Like", "Dislike"),
                    latex_delimiters=[],
                    allow_tags=False,
                    placeholder=t("chat_placeholder"),
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder=t("question_placeholder"),
                        lines=1,  # one line: Enter sends (gradio sends multi-line boxes with Shift+Enter)
                        max_lines=6,
                        scale=5,
                        elem_id="hb-question",
                    )
                    ask = gr.Button(t("ask_button"), variant="primary", scale=1, elem_id="hb-ask")
                gr.Examples(EXAMPLES, inputs=question, label=t("examples_label"))
                with gr.Row():
                    new = gr.Button(t("new_conversation"), elem_id="hb-new")
                    export = gr.DownloadButton(
                        t("download_conversation"), value=None, interactive=False, elem_id="hb-export"
                    )
                with gr.Accordion(t("feedback_heading"), open=False):
                    rating = gr.Radio(
                        [("👍 Helpful", "up"), ("👎 Not helpful", "down")], label=t("rating_label"), elem_id="hb-rating"
                    )
                    comment = gr.Textbox(label=t("comment_label"), lines=2, max_lines=6, elem_id="hb-comment")
                    send_feedback = gr.Button(t("send_feedback"), elem_id="hb-send-feedback")
                    feedback_status = gr.Markdown(elem_id="hb-feedback-status")
                with gr.Accordion(t("doc_filter_heading"), open=False):
                    doc_filter = gr.CheckboxGroup(self._doc_choices(), label=t("doc_filter_label"), elem_id="hb-docs")
            with gr.Column(scale=2):
                gr.Markdown(t("sources_heading"))
                cards = gr.HTML(source_cards([], self.kinds), elem_id="hb-sources")
                with gr.Row():
                    pick = gr.Dropdown(label=t("pick_label"), choices=[], interactive=True, scale=3, elem_id="hb-pick")
                    show = gr.Button(t("show_page"), scale=1, elem_id="hb-show")
        with gr.Row(equal_height=False):
            page_image = gr.Image(
                label=t("page_image_label"), type="filepath", interactive=False, height=760, scale=3, elem_id="hb-page"
            )
            with gr.Column(scale=2):
                page_text = gr.HTML(
                    '<p class="hb-note">The chosen source page appears here.</p>', elem_id="hb-page-text"
                )

        view = ChatView(
            chatbot, exchanges, cards, pick, question, export, page_image, page_text, feedback_status, comment
        )
        # The order of each `outputs` list is the order of the results of its API endpoint (/chat, /show_page,
        # /feedback); the handlers themselves return dicts keyed by component.
        answer_outputs = [chatbot, exchanges, cards, pick, question, export]
        common: dict[str, Any] = {
            "fn": self.respond,
            "inputs": [question, exchanges, doc_filter],
            "outputs": answer_outputs,
            "concurrency_id": "answer",
            "concurrency_limit": self.answer_concurrency,
            "show_progress": "minimal",
        }
        asked = ask.click(**common, api_name="chat", api_visibility="undocumented")
        submitted = question.submit(**common, api_visibility="private")
        show_args: dict[str, Any] = {
            "fn": self.show_page,
            "inputs": [pick, exchanges],
            "outputs": [page_image, page_text],
        }
        show.click(**show_args, api_name="show_page", api_visibility="undocumented", concurrency_limit=4)
        pick.input(**show_args, api_visibility="private", concurrency_limit=4)
        new.click(
            self.new_conversation,
            outputs=[chatbot, exchanges, cards, pick, page_image, page_text, export, feedback_status, question],
            api_visibility="private",
            cancels=[asked, submitted],  # an answer still streaming must not refill the cleared chat
        )
        send_feedback.click(
            self.give_feedback,
            inputs=[rating, comment, exchanges],
            outputs=[feedback_status, comment],
            api_name="feedback",
            api_visibility="undocumented",
            concurrency_limit=None,
        )
        chatbot.like(
            self.on_like,
            inputs=[exchanges],
            outputs=[feedback_status],
            api_visibility="private",
            concurrency_limit=None,
        )
        return view

    def _brief_tab(self) -> BriefView:
        t = self.i18n
        gr.Markdown(t("brief_intro"))
        brief_state = gr.State(None)
        with gr.Row():
            topic = gr.Textbox(
                label=t("topic_label"),
                placeholder=t("topic_placeholder"),
                scale=4,
                elem_id="hb-topic",
            )
            build = gr.Button(t("build_brief"), variant="primary", scale=1, elem_id="hb-build-brief")
        with gr.Accordion(t("brief_docs_heading"), open=False):
            brief_docs = gr.CheckboxGroup(self._doc_choices(), label=t("brief_docs_label"), elem_id="hb-brief-docs")
        brief_md = gr.Markdown(elem_id="hb-brief")
        with gr.Row():
            brief_md_file = gr.DownloadButton(t("brief_md"), value=None, interactive=False, elem_id="hb-brief-md")
            brief_docx_file = gr.DownloadButton(t("brief_docx"), value=None, interactive=False, elem_id="hb-brief-docx")
        with gr.Row():
            n_questions = gr.Slider(3, 12, value=6, step=1, label=t("questions_label"), scale=2)
            kind = gr.Radio(list(QUIZ_KINDS), value="mixed", label=t("quiz_type_label"), scale=2)
            make = gr.Button(t("make_quiz"), scale=1, elem_id="hb-make-quiz")
        quiz_md = gr.Markdown(elem_id="hb-quiz")
        with gr.Row():
            quiz_md_file = gr.DownloadButton(t("quiz_md"), value=None, interactive=False, elem_id="hb-quiz-md")
            quiz_docx_file = gr.DownloadButton(t("quiz_docx"), value=None, interactive=False, elem_id="hb-quiz-docx")
        view = BriefView(brief_md, brief_md_file, brief_docx_file, brief_state, quiz_md, quiz_md_file, quiz_docx_file)
        brief_args: dict[str, Any] = {
            "fn": self.build_brief,
            "inputs": [topic, brief_docs],
            "outputs": [brief_md, brief_md_file, brief_docx_file, brief_state, quiz_md, quiz_md_file, quiz_docx_file],
            "concurrency_id": "answer",
            "concurrency_limit": self.answer_concurrency,
        }
        build.click(**brief_args, api_name="brief", api_visibility="undocumented")
        topic.submit(**brief_args, api_visibility="private")
        make.click(
            self.make_quiz,
            inputs=[brief_state, n_questions, kind],
            outputs=[quiz_md, quiz_md_file, quiz_docx_file],
            api_name="quiz",
            api_visibility="undocumented",
        )
        return view
