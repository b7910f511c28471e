"""Spherical k-means in numpy, with the number of clusters chosen by the silhouette: the gap report's topics.

A few hundred question vectors (e5, unit length) are grouped by cosine similarity. No
scikit-learn: the whole method is thirty lines of numpy, seeded, so the same log gives the
same clusters on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SILHOUETTE_SAMPLE = 2000  # the silhouette of more points is estimated on this many (n x n distances)


@dataclass(frozen=True)
class Clustering:
    """Cluster number per vector (0 = the largest cluster), unit centroids, and the mean silhouette (None: k = 1)."""

    labels: np.ndarray
    centroids: np.ndarray
    silhouette: float | None

    @property
    def k(self) -> int:
        return len(self.centroids)


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def kmeans(vectors: np.ndarray, k: int, seed: int = 0, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (cosine) with k-means++ seeding: (labels, unit centroids)."""
    x = normalize(vectors)
    n = len(x)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    centroids = [x[int(rng.integers(n))]]
    for _ in range(1, k):
        distance = np.maximum(0.0, 1.0 - (x @ np.array(centroids).T).max(axis=1))
        weights = distance**2
        total = float(weights.sum())
        pick = int(rng.choice(n, p=weights / total)) if total > 0 else int(rng.integers(n))
        centroids.append(x[pick])
    c = np.array(centroids)
    labels = np.full(n, -1)
    for _ in range(iterations):
        similarity = x @ c.T
        new_labels = similarity.argmax(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for j in range(k):
            members = x[labels == j]
            if len(members):
                c[j] = normalize(members.sum(axis=0, keepdims=True))[0]
            else:  # an emptied cluster restarts at the point worst served by its own centroid
                worst = int(similarity.max(axis=1).argmin())
                c[j] = x[worst]
    return labels, c


def silhouette(vectors: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Mean silhouette with cosine distance (estimated on a sample above SILHOUETTE_SAMPLE points)."""
    x = normalize(vectors)
    if len(x) > SILHOUETTE_SAMPLE:
        keep = np.random.default_rng(seed).choice(len(x), SILHOUETTE_SAMPLE, replace=False)
        x, labels = x[keep], labels[keep]
    distance = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    scores = np.zeros(len(x))
    for i in range(len(x)):
        own = labels == labels[i]
        if own.sum() <= 1:
            continue  # a singleton's silhouette is 0 by convention
        a = distance[i, own].sum() / (own.sum() - 1)
        b = min(distance[i, labels == other].mean() for other in clusters if other != labels[i])
        scores[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return float(scores.mean())


def cluster(vectors: np.ndarray, max_k: int = 12, seed: int = 0, min_k: int | None = None) -> Clustering:
    """Clusters `vectors`, trying k from `min_k` (default about sqrt(n / 4), at least 2) to `max_k`; the best
    silhouette wins. Fewer than four vectors make one cluster. Clusters are numbered largest first."""
    x = normalize(vectors)
    n = len(x)
    if n == 0:
        return Clustering(np.zeros(0, dtype=int), np.zeros((0, x.shape[1] if x.ndim == 2 else 0)), None)
    if n < 4:
        return _numbered(np.zeros(n, dtype=int), x, None)
    upper = max(2, min(max_k, n // 2))
    lower = min(upper, max(2, min_k if min_k is not None else round(math.sqrt(n / 4))))
    best: tuple[float, np.ndarray] | None = None
    for k in range(lower, upper + 1):
        labels, _ = kmeans(x, k, seed)
        score = silhouette(x, labels, seed)
        if best is None or score > best[0] + 1e-9:
            best = (score, labels)
    assert best is not None
    return _numbered(best[1], x, best[0])


def _numbered(labels: np.ndarray, x: np.ndarray, score: float | None) -> Clustering:
    """Renumbers clusters by size (largest first, ties by first member) and computes their unit centroids."""
    present = sorted(np.unique(labels), key=lambda c: (-int((labels == c).sum()), int(np.argmax(labels == c))))
    mapping = {old: new for new, old in enumerate(present)}
    renumbered = np.array([mapping[label] for label in labels], dtype=int)
    centroids = np.array([normalize(x[renumbered == j].sum(axis=0, keepdims=True))[0] for j in range(len(present))])
    return Clustering(renumbered, centroids, score)
