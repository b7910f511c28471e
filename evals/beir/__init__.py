"""BEIR-format retrieval benchmark of our own engine (`handbook beir DIR`).

A BEIR dataset folder holds `corpus.jsonl` ({"_id", "title", "text"}), `queries.jsonl`
({"_id", "text"}) and `qrels/<split>.tsv` (header `query-id corpus-id score`). Every
document becomes one `Chunk`, is embedded with our `Embedder` and written with our
`IndexWriter` (embedded Chroma + BM25) into a cache folder keyed by the corpus sha256
and the model, so a corpus is embedded once; queries then go through `HybridRetriever`.

Metrics follow BEIR (pytrec_eval): nDCG@10 with the qrels' graded gains (gain = grade,
discount log2(rank + 1), ideal ranking from all judged relevant documents), MRR@10 and
recall@100; judgments with grade <= 0 count as not relevant. Runs are ranked in the
order our retriever returns them (pytrec_eval would re-sort ties by document id).

The modules: dataset (loading), scoring (the metrics), index (the cached index of a corpus),
evaluate (configurations, the evaluator, `run_beir`), cli (`handbook beir`, typer). This file
imports nothing.
"""
