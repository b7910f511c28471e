"""`handbook scale`: answer latency and memory against corpus size, on a Chroma server.

For each size (chunks of our chunker, e.g. 1000, 10000, 100000) the command

1. writes a synthetic handbook corpus (evals/synthetic_corpus.py; reused when already there);
2. ingests it into a Chroma server (started here with `chroma run`, or `--chroma-host/--chroma-port`);
3. starts a fresh app-like process (the assistant, plus gradio imported as the web app does) that
   asks the planted needle questions and generic staff questions, and reports answer latency
   p50/p95, its resident memory, and whether each needle answer cites the needle rule;
4. starts two such processes at once against the same server and index: both must cite every needle.

It writes scale.json, scale.md and scale.png (latency and memory against corpus size) to `--out`.

Embeddings: on this project's CPU machines the model embeds ~15 chunks/s, so 100k chunks take
about two hours. `handbook scale embed --sizes 100000 --device cuda --model DIR --out vectors.npz`
(or `python -m evals.scale embed ...`, which needs neither typer nor the app) embeds the chunk
texts of the same corpora on a GPU and prints the throughput. Where the GPU machine lacks the
ingest package's dependencies (pydantic), write the texts here with
`python -m evals.scale texts --sizes 1000,10000,100000 --out texts.jsonl.gz` and embed them
there with `python -m evals.scale embed --texts texts.jsonl.gz ...` (numpy and
sentence-transformers only). `--vectors vectors.npz` then looks vectors up by the sha256 of the
chunk's embedding text (int8 with a per-vector scale) and embeds only misses.
`--fake-vectors` uses token-hash vectors instead (latency and memory only: the dense half of
retrieval then finds nothing meaningful, and weak evidence makes the assistant refuse).

The measured processes answer extractively (HANDBOOK_LLM is removed from their environment).

The modules: records (options, sizes, results), vectors (the vector table and its Embedder),
chroma (the server), measure (the measured process), harness (one size, every size), report
(Markdown, plot, JSON), embed (texts and vectors for a GPU machine), cli (`handbook scale`,
typer), __main__ (`python -m evals.scale`). This file imports nothing.
"""
