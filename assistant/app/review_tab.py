"""The evaluators' tabs: the review queue and the gap report.

Each handler checks the account's role on the server (`Access.require`) before it reads
anything: the tabs are hidden from other roles, but their endpoints exist for every page,
so hiding is not what protects them.

No `from __future__ import annotations` here: gradio reads the handlers' type hints at
run time to pass `gr.Request`.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.components import Component
from pydantic import ValidationError

from assistant.answer.render import md_escape
from assistant.app.roles import Access, AccessDenied, Feature
from assistant.review.gap_files import render_markdown, write_gap_report
from assistant.review.gaps import analyzer_for, empty_report
from assistant.review.golden_record import KINDS, ExpectedPlace
from assistant.review.question_log import QuestionLog
from assistant.review.queue import QueueItem, ReviewDecision, ReviewError, ReviewQueue, place_of

log = logging.getLogger(__name__)

Updates = dict[Component, Any]
SEARCH_HITS = 10
WARM_WAIT_S = 900.0


def _session_folder(root: Path, request: gr.Request | None) -> Path:
    raw = getattr(request, "session_hash", None) or "anonymous"
    return root / hashlib.sha256(raw.encode()).hexdigest()[:16]


def _denied(exc: AccessDenied) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def place_value(place: ExpectedPlace) -> str:
    """A passage as the checkbox value: `doc|first-last|ref` (parsed back by `parse_value`)."""
    return f"{place.doc}|{min(place.pages)}-{max(place.pages)}|{place.ref}"


def parse_value(value: str) -> ExpectedPlace:
    doc, _, rest = value.partition("|")
    span, _, ref = rest.partition("|")
    first, _, last = span.partition("-")
    try:
        return ExpectedPlace(doc=doc, pages=list(range(int(first), int(last or first) + 1)), ref=ref)
    except (ValueError, ValidationError):
        raise ReviewError(f"passage {value!r}: not a passage of the search results") from None


def item_markdown(item: QueueItem) -> str:
    """The item as the reviewer reads it: question, comment, the answer given, the passages it rested on."""
    lines = [f"### {md_escape(item.key)}: {'👎 thumbs-down' if item.kind == 'thumbs-down' else 'low confidence'}", ""]
    meta = [f"{item.created}", f"language {item.lang}", f"state {item.state}"]
    if item.confidence is not None:
        meta.append(f"confidence {item.confidence:.2f}")
    if item.asked > 1:
        meta.append(f"asked {item.asked} times")
    lines += [f"_{' · '.join(meta)}_", "", f"**Question:** {md_escape(item.question)}", ""]
    if item.comment:
        lines += [f"**Comment:** {md_escape(item.comment)}", ""]
    lines += ["**Answer given:**", "", *(f"> {md_escape(line)}" for line in item.answer.splitlines() if line.strip())]
    if item.passages:
        lines += ["", "**Passages it rested on:**"]
        for p in item.passages[:5]:
            quote = f": “{md_escape(p['quote'][:200])}”" if p.get("quote") else ""
            lines.append(f"- {md_escape(_place_label(p))}{quote}")
    return "\n".join(lines)


def _place_label(p: dict[str, Any]) -> str:
    where = ", ".join(str(n) for n in p.get("locations") or [])
    head = ", ".join(x for x in (p.get("title") or p.get("doc", ""), p.get("ref", ""), p.get("section", "")) if x)
    return f"{head} [{p.get('doc', '')} @ {where}]"


@dataclass(frozen=True)
class ReviewView:
    items: gr.Dropdown
    item: gr.Markdown
    search: gr.Textbox
    passages: gr.CheckboxGroup
    key_facts: gr.Textbox
    staff_term: gr.Textbox
    document_term: gr.Textbox
    status: gr.Markdown


class ReviewTab:
    """The review queue for evaluators: read an item, search the index, decide."""

    title = "Review queue (evaluators)"
    tab_id = "review"
    feature: Feature = "review"

    def __init__(self, queue: ReviewQueue, access: Access, assistant: Callable[[], Any]) -> None:
        self.queue = queue
        self.access = access
        self.assistant = assistant  # () -> Assistant, waiting for the warm-up
        self._view: ReviewView | None = None

    @property
    def view(self) -> ReviewView:
        if self._view is None:
            raise RuntimeError("ReviewTab.build() makes the components; call it first")
        return self._view

    # ---- handlers -----------------------------------------------------------------------------

    def load_queue(self, request: gr.Request) -> Updates:
        """The pending items, newest first, as the picker's choices."""
        try:
            self.access.require(request, "review")
        except AccessDenied as exc:
            raise _denied(exc) from None
        items = self.queue.items()
        choices = [(f"{i.key} · {i.question[:90]}", i.key) for i in items]
        v = self.view
        status = f"{len(items)} item{'s' if len(items) != 1 else ''} waiting." if items else "The queue is empty."
        return {v.items: gr.Dropdown(choices=choices, value=None), v.status: status, v.item: ""}

    def show_item(self, key: str | None, request: gr.Request) -> Updates:
        """One item, and the search box filled with its question."""
        try:
            self.access.require(request, "review")
        except AccessDenied as exc:
            raise _denied(exc) from None
        v = self.view
        item = self.queue.item(key) if key else None
        if item is None:
            return {v.item: "Choose an item of the queue.", v.passages: gr.CheckboxGroup(choices=[], value=[])}
        return {
            v.item: item_markdown(item),
            v.search: item.question,
            v.passages: gr.CheckboxGroup(choices=[], value=[]),
            v.status: "",
        }

    def search(self, query: str | None, request: gr.Request) -> Updates:
        """Passages of the index for `query`, to mark the ones that answer the item."""
        try:
            self.access.require(request, "review")
        except AccessDenied as exc:
            raise _denied(exc) from None
        v = self.view
        text = (query or "").strip()[:2000]
        if not text:
            return {v.status: "Type what to search for."}
        result = self.assistant().retriever.search(text, k=SEARCH_HITS)
        choices = []
        for hit in result.hits:
            chunk = hit.chunk
            place = place_of(hit)
            first, last = chunk.page_start, chunk.page_end
            where = f"{first}" if first == last else f"{first}-{last}"
            ref = f", {chunk.ref}" if chunk.ref else ""
            choices.append((f"{chunk.doc_id} @ {where}{ref}: {' '.join(chunk.text.split())[:220]}", place_value(place)))
        return {v.passages: gr.CheckboxGroup(choices=choices, value=[]), v.status: f"{len(choices)} passages found."}

    def decide(
        self,
        action: str,
        key: str | None,
        passages: list[str] | None,
        key_facts: str | None,
        kind: str | None,
        staff_term: str | None,
        document_term: str | None,
        request: gr.Request,
    ) -> Updates:
        """Stores the decision on the chosen item; the queue is reloaded."""
        try:
            role = self.access.require(request, "review")
        except AccessDenied as exc:
            raise _denied(exc) from None
        v = self.view
        if not key:
            return {v.status: "**Choose an item of the queue first.**"}
        try:
            decision = ReviewDecision(
                action=action,  # type: ignore[arg-type]
                expected=[parse_value(p) for p in passages or []] if action == "passages" else [],
                key_facts=[f for f in (key_facts or "").splitlines() if f.strip()] if action == "passages" else [],
                kind=(kind or "fact") if action == "passages" else "fact",  # type: ignore[arg-type]
                staff_term=staff_term or "",
                document_term=document_term or "",
            )
            outcome = self.queue.review(key, decision, role)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "decision"
            return {v.status: f"**Not stored: {md_escape(where)}: {md_escape(first['msg'])}**"}
        except ReviewError as exc:
            return {v.status: f"**Not stored: {md_escape(str(exc))}**"}
        except OSError:
            log.exception("storing the review of %s failed", key)
            return {v.status: "**Sorry, the decision could not be stored.**"}
        updates = self.load_queue(request)
        updates[v.status] = md_escape(outcome.message())
        updates[v.key_facts] = ""
        updates[v.staff_term] = ""
        updates[v.document_term] = ""
        return updates

    # ---- layout -------------------------------------------------------------------------------

    def build(self, tab: gr.Tab) -> None:
        """Makes the tab's components inside `tab`; opening the tab loads the queue."""
        gr.Markdown(
            "Thumbs-down answers and answers the documents could not (fully) give, newest first. "
            "Mark the passages that answer the question, or say the documents do not cover it: the decision "
            "becomes a test question in the review file (`handbook eval --golden`). Questions are shown "
            "with personal details replaced."
        )
        with gr.Row():
            refresh = gr.Button("Refresh the queue", scale=1, elem_id="hb-review-refresh")
            # Any value reaches the handler, which checks it against the queue (an API call has no choices).
            items = gr.Dropdown(
                label="Item", choices=[], scale=4, interactive=True, allow_custom_value=True, elem_id="hb-review-items"
            )
        item = gr.Markdown(elem_id="hb-review-item")
        with gr.Row():
            search = gr.Textbox(label="Search the documents", scale=4, elem_id="hb-review-search")
            search_button = gr.Button("Search", scale=1, elem_id="hb-review-search-button")
        passages = gr.CheckboxGroup(label="Passages that answer it", choices=[], elem_id="hb-review-passages")
        with gr.Row():
            key_facts = gr.Textbox(
                label="Key facts (optional): words copied from the passages, one per line",
                lines=2,
                scale=3,
                elem_id="hb-review-facts",
            )
            kind = gr.Dropdown([k for k in KINDS if k != "unanswerable"], value="fact", label="Kind", scale=1)
        with gr.Row():
            staff_term = gr.Textbox(label="Glossary: staff term (optional)", elem_id="hb-review-staff-term")
            document_term = gr.Textbox(label="… means, in the documents", elem_id="hb-review-document-term")
        with gr.Row():
            save = gr.Button("These passages answer it", variant="primary", elem_id="hb-review-save")
            not_covered = gr.Button("The documents do not cover this", elem_id="hb-review-not-covered")
            glossary = gr.Button("Glossary pair only", elem_id="hb-review-glossary")
            dismiss = gr.Button("Dismiss", elem_id="hb-review-dismiss")
        status = gr.Markdown(elem_id="hb-review-status")
        self._view = ReviewView(items, item, search, passages, key_facts, staff_term, document_term, status)
        refresh.click(
            self.load_queue,
            outputs=[items, status, item],
            api_name="review_queue",
            api_visibility="undocumented",
        )
        tab.select(self.load_queue, outputs=[items, status, item], api_visibility="private")
        items.change(
            self.show_item,
            inputs=[items],
            outputs=[item, search, passages, status],
            api_name="review_item",
            api_visibility="undocumented",
        )
        search_args: dict[str, Any] = {"fn": self.search, "inputs": [search], "outputs": [passages, status]}
        search_button.click(**search_args, api_name="review_search", api_visibility="undocumented")
        search.submit(**search_args, api_visibility="private")
        decide_inputs = [items, passages, key_facts, kind, staff_term, document_term]
        decide_outputs = [items, status, item, key_facts, staff_term, document_term]
        actions = ((save, "passages"), (not_covered, "not_covered"), (glossary, "glossary"), (dismiss, "dismiss"))
        for button, action in actions:
            button.click(
                self._decider(action),
                inputs=decide_inputs,
                outputs=decide_outputs,
                api_name=f"review_{action}",
                api_visibility="undocumented",
            )

    def _decider(self, action: str) -> Callable[..., Updates]:
        def decide(
            key: str | None,
            passages: list[str] | None,
            key_facts: str | None,
            kind: str | None,
            staff_term: str | None,
            document_term: str | None,
            request: gr.Request,
        ) -> Updates:
            return self.decide(action, key, passages, key_facts, kind, staff_term, document_term, request)

        return decide


@dataclass(frozen=True)
class GapsView:
    report: gr.Markdown
    chart: gr.Image
    md_file: gr.DownloadButton
    csv_file: gr.DownloadButton
    png_file: gr.DownloadButton


class GapsTab:
    """The gap report for evaluators: the not-covered and closest questions of the log, by topic."""

    title = "Gap report (evaluators)"
    tab_id = "gaps"
    feature: Feature = "report"

    def __init__(
        self, question_log: QuestionLog | None, access: Access, assistant: Callable[[], Any], export_dir: Path
    ) -> None:
        self.question_log = question_log
        self.access = access
        self.assistant = assistant
        self.export_dir = Path(export_dir)
        self._view: GapsView | None = None

    @property
    def view(self) -> GapsView:
        if self._view is None:
            raise RuntimeError("GapsTab.build() makes the components; call it first")
        return self._view

    def make_report(self, since: str | None, request: gr.Request) -> Updates:
        """Clusters the log's questions (from `since`, YYYY-MM-DD) and shows the report with its files."""
        try:
            self.access.require(request, "report")
        except AccessDenied as exc:
            raise _denied(exc) from None
        v = self.view
        nothing = {v.chart: None, v.md_file: _download(None), v.csv_file: _download(None), v.png_file: _download(None)}
        if self.question_log is None:
            return {v.report: "**The question log is off (HANDBOOK_QUESTION_LOG=off): there is nothing to report.**",
                    **nothing}  # fmt: skip
        start = None
        if since and since.strip():
            try:
                start = datetime.strptime(since.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                return {v.report: f"**since: {md_escape(since.strip())!s} is not a date (YYYY-MM-DD)**", **nothing}
        try:
            rows = self.question_log.rows(since=start)
            report = empty_report(len(rows), start)
            if any(r.state in ("closest", "not_covered") for r in rows):
                assistant = self.assistant()
                report = analyzer_for(assistant.retriever.encoders(), assistant.snapshot).analyze(rows, since=start)
            folder = _session_folder(self.export_dir, request) / "gaps"
            md, table, chart = write_gap_report(report, folder)
        except Exception:
            log.exception("the gap report failed")
            return {v.report: "**Sorry, the report could not be made. The error has been logged.**", **nothing}
        return {
            v.report: render_markdown(report, chart=None),
            v.chart: str(chart) if report.clusters else None,
            v.md_file: _download(md),
            v.csv_file: _download(table),
            v.png_file: _download(chart),
        }

    def build(self, tab: gr.Tab) -> None:
        """Makes the tab's components inside `tab`."""
        gr.Markdown(
            "Questions the documents did not answer (*not covered*) or only half answered (*closest passages*), "
            "grouped by topic: where the handbooks are silent on what staff ask. From the question log; the "
            "questions are shown with personal details replaced."
        )
        with gr.Row():
            since = gr.Textbox(label="From (YYYY-MM-DD, optional)", scale=2, elem_id="hb-gaps-since")
            run = gr.Button("Make the report", variant="primary", scale=1, elem_id="hb-gaps-run")
        chart = gr.Image(
            label="Questions per topic and week", type="filepath", interactive=False, elem_id="hb-gaps-chart"
        )
        report = gr.Markdown(elem_id="hb-gaps-report")
        with gr.Row():
            md_file = gr.DownloadButton("gaps.md", value=None, interactive=False, elem_id="hb-gaps-md")
            csv_file = gr.DownloadButton("gaps.csv", value=None, interactive=False, elem_id="hb-gaps-csv")
            png_file = gr.DownloadButton("gaps.png", value=None, interactive=False, elem_id="hb-gaps-png")
        self._view = GapsView(report, chart, md_file, csv_file, png_file)
        run.click(
            self.make_report,
            inputs=[since],
            outputs=[report, chart, md_file, csv_file, png_file],
            api_name="gap_report",
            api_visibility="undocumented",
            concurrency_limit=1,
        )


def _download(path: Path | None) -> Any:
    if path is None:
        return gr.DownloadButton(value=None, interactive=False)
    return gr.DownloadButton(value=str(path), interactive=True)

