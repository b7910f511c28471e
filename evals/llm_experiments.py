"""Two experiments with the small local models (issue 23, item 3), measured and reported in evals/README.md.

`handbook eval llm-experiments rewrite`: the model rewrites a staff-worded question into the documents'
vocabulary before retrieval. Measured on the staff-wording band of dev.jsonl (answerable English questions
with overlap <= 0.3): hit@5 and MRR@10 of the question as asked, of the rewrite alone, and of the two
joined (the rewrite as an expansion). Nothing is fitted, so the figures are out of fold as they stand.

`handbook eval llm-experiments judge`: the model as answerability judge. It reads the question and the five
passage sentences the generated lead would get, and its score is logit("Yes") - logit("No") for its first
token; the AUC of that score against the current decision's score (`Answer.confidence`) on a balanced
sample of answerable and unanswerable dev questions. The decision was fitted on the dev set, so its AUC
here is in-sample, an upper bound; the judge fits nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.golden import STAFF_WORDING_MAX
from evals.metrics import is_relevant
from evals.progress import progress_bar
from evals.records import RetrievedPassage

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from evals.golden import GoldenQuestion

REWRITE_SYSTEM = """You rewrite a prison officer's question in the formal words of international prison \
standards and prison policy documents, for a search engine. Replace slang and jargon with the formal terms \
(for example "the seg" -> "segregation, solitary confinement"; "cuffs" -> "instruments of restraint"; \
"a lad" -> "a prisoner"). Keep the meaning. Reply with the rewritten question only, on one line."""

JUDGE_SYSTEM = """You check whether numbered passages answer a question from prison staff. \
Reply with one word: Yes if the passages answer the question, No if they do not."""


def staff_band(questions: Sequence[GoldenQuestion], limit: int) -> list[GoldenQuestion]:
    """Answerable English questions in staff wording, evenly through the band by id (a fixed sample)."""
    band = [
        q
        for q in questions
        if q.answerable and q.lang == "en" and q.overlap is not None and q.overlap <= STAFF_WORDING_MAX
    ]
    if len(band) <= limit:
        return band
    step = len(band) / limit
    return [band[int(i * step)] for i in range(limit)]


def _rank(assistant: Assistant, query: str, q: GoldenQuestion, k: int = 10) -> int | None:
    result = assistant.retriever.search(query, k=k)
    for rank, hit in enumerate(result.hits[:k], start=1):
        chunk = hit.chunk
        passage = RetrievedPassage(
            doc=chunk.doc_id, pages=list(range(chunk.page_start, chunk.page_end + 1)), ref=chunk.ref, score=hit.score
        )
        if is_relevant(passage, q.expected):
            return rank
    return None


def rewrite_experiment(
    assistant: Assistant, chat_model: Any, questions: Sequence[GoldenQuestion], progress: bool = True
) -> dict[str, Any]:
    ranks: dict[str, list[int | None]] = {"asked": [], "rewrite": [], "asked + rewrite": []}
    rows = []
    seconds = []
    with progress_bar(progress, "rewrites", len(questions)) as advance:
        for q in questions:
            started = time.monotonic()
            reply = chat_model.invoke([("system", REWRITE_SYSTEM), ("human", q.question)])
            seconds.append(time.monotonic() - started)
            text = reply.content if isinstance(reply.content, str) else ""
            rewrite = next((line.strip() for line in text.splitlines() if line.strip()), "") or q.question
            found = {
                "asked": _rank(assistant, q.question, q),
                "rewrite": _rank(assistant, rewrite, q),
                "asked + rewrite": _rank(assistant, f"{q.question} {rewrite}", q),
            }
            for name, rank in found.items():
                ranks[name].append(rank)
            rows.append({"id": q.id, "question": q.question, "rewrite": rewrite, "ranks": found})
            advance()
    figures = {
        name: {
            "hit@5": round(sum(r is not None and r <= 5 for r in rs) / len(rs), 3),
            "MRR@10": round(sum(1 / r for r in rs if r is not None) / len(rs), 3),
        }
        for name, rs in ranks.items()
    }
    return {
        "questions": len(questions),
        "figures": figures,
        "s per rewrite": round(sum(seconds) / len(seconds), 1),
        "rows": rows,
    }


def balanced_sample(questions: Sequence[GoldenQuestion], per_side: int) -> list[GoldenQuestion]:
    """`per_side` answerable and `per_side` unanswerable English questions, evenly through each by id."""

    def spread(pool: list[GoldenQuestion]) -> list[GoldenQuestion]:
        if len(pool) <= per_side:
            return pool
        step = len(pool) / per_side
        return [pool[int(i * step)] for i in range(per_side)]

    english = [q for q in questions if q.lang == "en"]
    return spread([q for q in english if q.answerable]) + spread([q for q in english if not q.answerable])


def judge_experiment(
    assistant: Assistant, gguf: Path, questions: Sequence[GoldenQuestion], threads: int = 2, progress: bool = True
) -> dict[str, Any]:
    import llama_cpp
    import numpy as np

    from assistant.answer.lead import default_selector
    from assistant.llm.lead import lead_sources

    llama = llama_cpp.Llama(model_path=str(gguf), n_ctx=2048, n_threads=threads, verbose=False)
    yes = {llama.tokenize(t.encode(), add_bos=False, special=False)[0] for t in ("Yes", " Yes", "yes")}
    no = {llama.tokenize(t.encode(), add_bos=False, special=False)[0] for t in ("No", " No", "no")}
    selector = default_selector()
    judged: list[float] = []
    decided: list[float] = []
    labels: list[bool] = []
    seconds = []
    with progress_bar(progress, "judge", len(questions)) as advance:
        for q in questions:
            answer = assistant.ask(q.question)
            request = assistant.compose_request(q.question)
            sources = lead_sources(request, selector)
            passages = "\n".join(f"[{s.n}] {s.text}" for s in sources) or "(none)"
            prompt = (
                f"<|im_start|>system\n{JUDGE_SYSTEM}<|im_end|>\n<|im_start|>user\nPassages:\n{passages}\n\n"
                f"Question: {q.question}\nDo the passages answer the question? Yes or No.<|im_end|>\n"
                "<|im_start|>assistant\n"
            )
            started = time.monotonic()
            llama.reset()
            tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
            llama.eval(tokens)
            # The last token's logits: `Llama.scores` is not filled without logits_all (llama-cpp-python 0.3).
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
            seconds.append(time.monotonic() - started)
            judged.append(_logsumexp([float(logits[t]) for t in yes]) - _logsumexp([float(logits[t]) for t in no]))
            decided.append(answer.confidence)
            labels.append(q.answerable)
            advance()
    return {
        "answerable": sum(labels),
        "unanswerable": len(labels) - sum(labels),
        "AUC judge": round(auc(judged, labels), 3),
        "AUC decision": round(auc(decided, labels), 3),
        "s per judgement": round(sum(seconds) / len(seconds), 1),
        "rows": [
            {"id": q.id, "answerable": q.answerable, "judge": round(j, 3), "decision": round(d, 4)}
            for q, j, d in zip(questions, judged, decided, strict=True)
        ],
    }


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The chance that a random positive scores above a random negative (ties count half)."""
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))
