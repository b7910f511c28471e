"""Hybrid retrieval as a pipeline of stages: candidate sources -> fuser -> rankers (see `pipeline`)."""

from assistant.retrieval.fusion import ConvexFuser, RrfFuser, normalise
from assistant.retrieval.pipeline import HybridRetriever
from assistant.retrieval.rankers import KindPrior
from assistant.retrieval.records import Query, ScoredChunk, SearchFilter, SearchResult, SourceRun
from assistant.retrieval.sources import DenseSource, LexicalSource

__all__ = [
    "ConvexFuser",
    "DenseSource",
    "HybridRetriever",
    "KindPrior",
    "LexicalSource",
    "Query",
    "RrfFuser",
    "ScoredChunk",
    "SearchFilter",
    "SearchResult",
    "SourceRun",
    "normalise",
]
