"""`handbook bench`: ingest throughput, re-ingest, answer latency, cold start and peak memory,
with the LangChain tutorial pipeline measured in the same run and every figure given as a
ratio to it. Results: `docs/benchmarks.md` (written with `--docs-md`).

Each phase runs in a fresh process, so that imports, model loading and memory are those a
user meets: the ingests are `handbook ingest` itself, the cold start is `handbook serve`
timed until its HTTP `/ask` API returns the first answer, and the warm latencies and the
tutorial's phases run in worker processes (`python -m evals.bench WORKER`, evals/bench/workers.py).
The peak RSS of a child is read from its own rusage when it is reaped (`os.wait4`).

The modules, in the order the data flows: records (the figures and their JSON), machine,
process (child processes), http_api (the app's `/ask` API), workers, harness (the phases),
report (Markdown), cli (the typer command). This file imports nothing: the `handbook` CLI
imports `evals.bench.cli` on every start, which imports only typer and the standard library.
"""
