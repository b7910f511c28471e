"""BEIR's per-query metrics (as pytrec_eval): nDCG@10 with graded gains, MRR@10, recall@100.

Rankings are scored in the order our retriever returns them (pytrec_eval would re-sort ties by
document id); judgments with grade <= 0 count as not relevant."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def _gain(judged: Mapping[str, int], doc_id: str) -> int:
    return max(judged.get(doc_id, 0), 0)


def ndcg_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(_gain(judged, d) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    for i, doc_id in enumerate(ranking[:k]):
        if _gain(judged, doc_id) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 100) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant & set(ranking[:k])) / len(relevant) if relevant else 0.0
