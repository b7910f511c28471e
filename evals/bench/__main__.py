"""`python -m evals.bench WORKER ...`: the benchmark's worker processes (internal)."""

from evals.bench.workers import worker_main

raise SystemExit(worker_main())
