"""Swappable steps of the pain-point clusterer: reduction and clustering.

:class:`analytics.clustering.PainPointClusterer` runs four steps in a row, BERTopic-style:
embed -> reduce -> cluster -> name. Each step is a small object, so any of them can be
replaced by something with the same interface:

* a *reducer* has ``fit_transform(X) -> Z`` (rows of ``X`` are L2-normalised embeddings);
* a *clusterer* has ``fit_predict(Z, n_clusters=None, graph=None) -> labels`` (labels
  ``0..k-1``) and sets ``n_clusters_`` after the call. ``graph`` is the reducer's k-NN graph
  when it has one (``reducer.graph_``); clusterers that do not need it ignore it.

The defaults were chosen by measurement on the BANKING77 *training* split (see
``docs/benchmarks/clustering.md``): a UMAP-style fuzzy k-nearest-neighbour graph, its
spectral embedding (Laplacian eigenmaps, 50 dimensions), Ward over-clustering into small
fragments, then merging fragments that share many graph edges (:class:`GraphMergeClusterer`).
The number of clusters falls out of the merge threshold, which does not depend on how many
clusters there are. No numba, no compilation: numpy, scipy and scikit-learn only.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import normalize

__all__ = [
    "AgglomerativeClusterer",
    "Clusterer",
    "GraphMergeClusterer",
    "IdentityReducer",
    "KMeansClusterer",
    "PCAReducer",
    "Reducer",
    "SpectralGraphReducer",
    "fuzzy_knn_graph",
    "knn_cosine",
]


class Reducer(Protocol):
    """Maps L2-normalised embeddings (n, d) to the space the clusterer works in."""

    def fit_transform(self, X: np.ndarray) -> np.ndarray: ...


class Clusterer(Protocol):
    """Partitions rows of ``Z``; chooses the number of clusters when ``n_clusters`` is None."""

    n_clusters_: int

    def fit_predict(
        self, X: np.ndarray, n_clusters: int | None = None, graph: sp.spmatrix | None = None
    ) -> np.ndarray: ...


def knn_cosine(
    X: np.ndarray, n_neighbors: int, *, chunk_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine nearest neighbours of each row among the other rows.

    ``X`` must be L2-normalised. Returns ``(indices, similarities)``, both (n, n_neighbors),
    nearest first. Works in row chunks so memory stays at ``chunk_size * n`` floats.
    """
    n = X.shape[0]
    k = min(n_neighbors, n - 1)
    idx = np.empty((n, k), dtype=np.int64)
    sims = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        block = X[start:stop] @ X.T
        block[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not your own neighbour
        part = np.argpartition(block, -k, axis=1)[:, -k:]
        part_sims = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-part_sims, axis=1, kind="stable")
        idx[start:stop] = np.take_along_axis(part, order, axis=1)
        sims[start:stop] = np.take_along_axis(part_sims, order, axis=1)
    return idx, sims


def fuzzy_knn_graph(X: np.ndarray, n_neighbors: int = 15) -> sp.csr_matrix:
    """Symmetric UMAP-style fuzzy k-NN graph on cosine distance.

    Each point's distances are shifted by its nearest-neighbour distance and scaled so that
    its edge weights sum to log2(k); this local scaling is what makes dense and sparse topics
    comparable (plain similarity weights did worse on BANKING77 train). The union
    ``A + A^T - A * A^T`` symmetrises it.
    """
    n = X.shape[0]
    idx, sims = knn_cosine(X, n_neighbors)
    k = idx.shape[1]
    dist = np.maximum(1.0 - sims.astype(np.float64), 0.0)
    rho = dist[:, :1]
    excess = np.maximum(dist - rho, 0.0)
    target = np.log2(max(k, 2))
    lo = np.full((n, 1), 1e-8)
    hi = np.full((n, 1), 4.0)
    for _ in range(48):  # bisection for the per-point bandwidth
        mid = (lo + hi) / 2
        total = np.exp(-excess / mid).sum(axis=1, keepdims=True)
        too_big = total > target
        hi = np.where(too_big, mid, hi)
        lo = np.where(too_big, lo, mid)
    weights = np.exp(-excess / ((lo + hi) / 2))
    A = sp.csr_matrix((weights.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    A = A + A.T - A.multiply(A.T)
    A.eliminate_zeros()
    return A.tocsr()


class SpectralGraphReducer:
    """Spectral embedding (Laplacian eigenmaps) of a fuzzy k-NN graph.

    Parameters
    ----------
    n_neighbors:
        Neighbours per point in the graph. 15 was best or tied on BANKING77 train (10-20 tried).
    n_components:
        Eigenvectors kept. 50 beat both fewer (20-40) and more (64-80) on BANKING77 train.
    diffusion_time:
        Each eigenvector is scaled by its eigenvalue to this power (diffusion-map
        coordinates). It mutes the eigenvectors beyond the real structure when there are far
        fewer than ``n_components`` topics (with 5 planted topics, 45 noise dimensions made
        Ward mix topics); with ~100 topics all eigenvalues are near 1 and it changes little
        (BANKING77 train NMI equal within 0.1 for 0..8).
    random_state:
        Seeds the eigensolver's start vector, which makes the result reproducible.

    After ``fit_transform``: ``graph_`` (sparse adjacency), ``eigenvalues_``.
    """

    def __init__(
        self,
        n_neighbors: int = 15,
        n_components: int = 50,
        diffusion_time: float = 4.0,
        random_state: int | None = 0,
    ):
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.diffusion_time = diffusion_time
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Return row-normalised spectral coordinates, shape (n, min(n_components, n - 2))."""
        n = X.shape[0]
        X = np.asarray(X, dtype=np.float32)
        if n < 2 * self.n_neighbors:
            # Too few points for a spectral embedding to mean anything: keep the embeddings.
            self.graph_ = (
                fuzzy_knn_graph(X, min(self.n_neighbors, n - 1)) if n > 2 else sp.csr_matrix((n, n))
            )
            self.eigenvalues_ = np.ones(0)
            return normalize(X)
        A = fuzzy_knn_graph(X, self.n_neighbors)
        degree = np.asarray(A.sum(axis=1)).ravel()
        inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
        M = sp.diags(inv_sqrt) @ A @ sp.diags(inv_sqrt)
        m = max(1, min(self.n_components, n - 2))
        v0 = np.random.default_rng(self.random_state).standard_normal(n)
        if m >= n // 2:  # small problems: a dense solver is faster and always converges
            vals, vecs = np.linalg.eigh(M.toarray())
            vals, vecs = vals[-m:], vecs[:, -m:]
        else:
            vals, vecs = eigsh(M, k=m, which="LA", v0=v0, tol=1e-4, maxiter=n * 20)
        order = np.argsort(-vals)
        vecs = vecs[:, order] * inv_sqrt[:, None]
        # Eigenvectors have an arbitrary sign; fix it so equal inputs give equal outputs.
        signs = np.sign(vecs[np.abs(vecs).argmax(axis=0), np.arange(vecs.shape[1])])
        vecs *= np.where(signs == 0, 1.0, signs)
        if self.diffusion_time:
            vecs *= np.clip(vals[order], 0.0, 1.0) ** self.diffusion_time
        self.graph_ = A
        self.eigenvalues_ = vals[order]
        return normalize(vecs)


class PCAReducer:
    """PCA to ``n_components`` dimensions, rows re-normalised (cheap, linear alternative)."""

    def __init__(self, n_components: int = 50, random_state: int | None = 0):
        self.n_components = n_components
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Return the re-normalised principal components of ``X``."""
        m = max(1, min(self.n_components, X.shape[0] - 1, X.shape[1]))
        self.pca_ = PCA(n_components=m, random_state=self.random_state)
        return normalize(self.pca_.fit_transform(X))


class IdentityReducer:
    """No reduction: cluster the embeddings themselves."""

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X`` unchanged."""
        return X


class KMeansClusterer:
    """k-means on the reduced coordinates.

    k-means needs k: when ``n_clusters`` is None, k is taken from
    :class:`GraphMergeClusterer` on the same data (so every clusterer chooses k the same way).
    With k given, k-means on the spectral coordinates is what the default clusterer uses too.

    After ``fit_predict``: ``n_clusters_``.
    """

    def __init__(self, n_init: int = 4, random_state: int | None = 0):
        self.n_init = n_init
        self.random_state = random_state

    def fit_predict(
        self, X: np.ndarray, n_clusters: int | None = None, graph: sp.spmatrix | None = None
    ) -> np.ndarray:
        """Cluster the rows of ``X``; return labels ``0..n_clusters_-1``."""
        n = X.shape[0]
        if n_clusters is None:
            helper = GraphMergeClusterer(random_state=self.random_state)
            n_clusters = helper.fit_predict(X, None, graph=graph).max() + 1
        k = max(1, min(int(n_clusters), n))
        if k == 1:
            self.n_clusters_ = 1
            return np.zeros(n, dtype=np.int64)
        labels = KMeans(k, n_init=self.n_init, random_state=self.random_state).fit_predict(X)
        labels = np.unique(labels, return_inverse=True)[1].astype(np.int64)
        self.n_clusters_ = int(labels.max()) + 1
        return labels


class AgglomerativeClusterer:
    """Hierarchical clustering (Ward by default) cut at ``n_clusters`` or ``distance_threshold``.

    When neither is given, k is taken from :class:`GraphMergeClusterer` on the same data.
    """

    def __init__(
        self, linkage: str = "ward", distance_threshold: float | None = None, random_state: int = 0
    ):
        self.linkage = linkage
        self.distance_threshold = distance_threshold
        self.random_state = random_state

    def fit_predict(
        self, X: np.ndarray, n_clusters: int | None = None, graph: sp.spmatrix | None = None
    ) -> np.ndarray:
        """Cluster the rows of ``X`` (``graph`` only serves to choose k)."""
        if n_clusters is None and self.distance_threshold is None:
            helper = GraphMergeClusterer(random_state=self.random_state)
            n_clusters = helper.fit_predict(X, None, graph=graph).max() + 1
        model = AgglomerativeClustering(
            n_clusters=None if n_clusters is None else max(1, min(n_clusters, X.shape[0])),
            distance_threshold=self.distance_threshold if n_clusters is None else None,
            linkage=self.linkage,
            metric="euclidean" if self.linkage == "ward" else "cosine",
        )
        labels = model.fit_predict(X) if X.shape[0] > 1 else np.zeros(X.shape[0], dtype=np.int64)
        self.n_clusters_ = int(len(np.unique(labels)))
        return labels.astype(np.int64)


def _merge_fragments(graph: sp.spmatrix, fragments: np.ndarray, threshold: float) -> np.ndarray:
    """Greedily merge the pair of groups with the largest shared edge weight.

    Linkage of groups a, b = w(a, b) / min(vol(a), vol(b)): the share of the smaller group's
    edge weight that goes to the other one. Stops when the best linkage is <= threshold.
    """
    n = fragments.shape[0]
    k = int(fragments.max()) + 1
    P = sp.csr_matrix((np.ones(n), (np.arange(n), fragments)), shape=(n, k))
    W = np.asarray((P.T @ graph @ P).todense(), dtype=np.float64)
    vol = W.sum(axis=1)
    alive = np.ones(k, dtype=bool)
    owner = np.arange(k)
    while alive.sum() > 1:
        idx = np.flatnonzero(alive)
        sub = W[np.ix_(idx, idx)].copy()
        np.fill_diagonal(sub, -1.0)
        denom = np.minimum.outer(vol[idx], vol[idx])
        link = np.where(denom > 0, sub / np.where(denom > 0, denom, 1.0), -1.0)
        np.fill_diagonal(link, -1.0)
        a, b = np.unravel_index(int(np.argmax(link)), link.shape)
        if link[a, b] <= threshold:
            break
        i, j = idx[a], idx[b]
        W[i, :] += W[j, :]
        W[:, i] += W[:, j]
        W[j, :] = 0.0
        W[:, j] = 0.0
        vol[i] += vol[j]
        vol[j] = 0.0
        alive[j] = False
        owner[owner == j] = i
    return np.unique(owner[fragments], return_inverse=True)[1].astype(np.int64)


class GraphMergeClusterer:
    """Over-cluster into small fragments, then merge fragments that share many graph edges.

    1. Ward clustering of the (spectral) coordinates into fragments of about
       ``fragment_size`` points: small enough to sit inside one topic.
    2. Fragments are merged greedily by linkage = edge weight between them divided by the
       edge weight (volume) of the smaller one, while the best linkage exceeds
       ``merge_threshold``.

    The threshold is a share of a fragment's neighbourhood, not a count, so the number of
    clusters follows from the data (unlike modularity, whose resolution depends on the number
    of clusters). Deterministic: Ward has no random start.

    With ``n_clusters`` given, k-means on the coordinates is used instead: forcing merges
    down to a fixed k gave the same NMI but a lower ARI on BANKING77 train (51 vs 55 at k=77).

    Parameters
    ----------
    fragment_size:
        Average fragment size; 12 was better than 15 or 30 on BANKING77 train.
    merge_threshold:
        Merge while the linkage exceeds this. 0.14 on BANKING77 train (0.08..0.20 tried):
        higher finds more, smaller clusters.
    max_fragments:
        Cap on fragments (Ward and the merge are quadratic in it).

    After ``fit_predict``: ``n_clusters_``, ``fragments_`` (fragment id per row).
    """

    def __init__(
        self,
        fragment_size: int = 12,
        merge_threshold: float = 0.14,
        max_fragments: int = 600,
        n_neighbors: int = 15,
        random_state: int | None = 0,
    ):
        self.fragment_size = fragment_size
        self.merge_threshold = merge_threshold
        self.max_fragments = max_fragments
        self.n_neighbors = n_neighbors
        self.random_state = random_state

    def fit_predict(
        self, X: np.ndarray, n_clusters: int | None = None, graph: sp.spmatrix | None = None
    ) -> np.ndarray:
        """Cluster the rows of ``X`` using ``graph`` (built on ``X`` when not given)."""
        n = X.shape[0]
        if n < 3:
            self.fragments_ = np.arange(n)
            self.n_clusters_ = n
            return np.arange(n, dtype=np.int64)
        if n_clusters is not None:
            labels = KMeansClusterer(random_state=self.random_state).fit_predict(X, n_clusters)
            self.fragments_ = None  # no fragments on this path
            self.n_clusters_ = int(labels.max()) + 1
            return labels
        # At least a couple of dozen fragments, so small inputs still get one per topic.
        n_fragments = min(max(24, n // max(self.fragment_size, 1)), self.max_fragments, n)
        fragments = AgglomerativeClustering(n_clusters=n_fragments).fit_predict(X)
        if graph is None:
            graph = fuzzy_knn_graph(normalize(np.asarray(X, dtype=np.float32)), self.n_neighbors)
        labels = _merge_fragments(graph, fragments, self.merge_threshold)
        self.fragments_ = fragments
        self.n_clusters_ = int(labels.max()) + 1
        return labels
