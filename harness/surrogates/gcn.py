"""GCN surrogates in the style of the Neural Predictor (Wen et al., ECCV 2020), torch-geometric.

Architecture: node features are the one-hot op types of the space's ``graph`` encoding; each
layer is a *bidirectional* graph convolution -- one ``GCNConv`` along the cell's edges, one
against them, averaged -- because information in a cell DAG flows both ways for prediction
purposes (an op's value depends on what feeds it and on what it feeds); then mean pooling over
the nodes and an MLP head. Paper: 3 layers of 144 units, a 128-unit head; those are the defaults.

Training defaults (Adam, lr 1e-3, 100 epochs, batch 64, weight decay 1e-3) are the reference
study's GCN training settings (its ``dgl_params.py``), not the paper's lr 1e-4 x 300 epochs x
batch 10, which is ~10x slower on CPU for no rank-correlation gain we could measure on NB201
(bench/RESULTS.md). The study's own GCN is a different network (five SAGE-LSTM layers with max
pooling); this one is the Neural Predictor's (Wen et al. 2020).

Targets are standardised before training (and predictions un-standardised), so the same learning
rate works for accuracies in percent, in [0, 1], or for zero-cost scores.

:class:`GCNClassifier` is the Neural Predictor's cascade filter: the same network trained with a
logistic loss to tell cells above the ``threshold_quantile`` of the training targets from those
below; its ``predict`` is the probability of "above" (so higher is still better, and it can
stand where a regressor stands).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from harness.spaces._base import Graph
from harness.surrogates._base import BaseSurrogate
from harness.surrogates._torch import predict_batches, train


def _normalised_edges(ei: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges with self-loops and GCN weights 1/sqrt(deg_in(src) deg_in(dst)).

    The same normalisation ``GCNConv`` computes on every call; done once per graph here, because
    re-normalising each mini-batch costs as much as the convolutions themselves.
    """
    loops = np.arange(n, dtype=np.int64)
    e = np.concatenate([ei[:, ei[0] != ei[1]], np.stack([loops, loops])], axis=1)
    deg = np.bincount(e[1], minlength=n).astype(np.float32)
    inv = 1.0 / np.sqrt(deg)
    return e, (inv[e[0]] * inv[e[1]]).astype(np.float32)


class _PackedGraphs:
    """Graphs with pre-normalised forward and reverse edges, concatenated into batches."""

    def __init__(self, graphs: list[Graph]) -> None:
        self.n_nodes = np.array([g.x.shape[0] for g in graphs], dtype=np.int64)
        self.node_start = np.concatenate([[0], np.cumsum(self.n_nodes)])
        self.x = np.concatenate([np.asarray(g.x, dtype=np.float32) for g in graphs])
        self.fwd = []
        self.rev = []
        for g, n in zip(graphs, self.n_nodes, strict=True):
            ei = np.asarray(g.edge_index, dtype=np.int64).reshape(2, -1)
            self.fwd.append(_normalised_edges(ei, int(n)))
            self.rev.append(_normalised_edges(ei[::-1], int(n)))

    def batch(self, idx: np.ndarray) -> tuple[Any, ...]:
        import torch

        xs, bvec = [], []
        ef, wf, er, wr = [], [], [], []
        offset = 0
        for b, i in enumerate(idx):
            s, n = int(self.node_start[i]), int(self.n_nodes[i])
            xs.append(self.x[s : s + n])
            bvec.append(np.full(n, b, dtype=np.int64))
            ef.append(self.fwd[i][0] + offset)
            wf.append(self.fwd[i][1])
            er.append(self.rev[i][0] + offset)
            wr.append(self.rev[i][1])
            offset += n

        def cat(parts: list[np.ndarray], axis: int = 0) -> Any:
            return torch.from_numpy(np.concatenate(parts, axis=axis))

        return (
            cat(xs),
            cat(ef, 1),
            cat(wf),
            cat(er, 1),
            cat(wr),
            cat(bvec),
            len(idx),
        )


def _build_net(in_dim: int, hidden: int, n_layers: int, mlp_hidden: int) -> Any:
    import torch
    from torch_geometric.nn import GCNConv, global_mean_pool

    class BiGCN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [in_dim] + [hidden] * n_layers
            pairs = list(itertools.pairwise(dims))
            # normalisation is precomputed per graph (_normalised_edges)
            self.fwd = torch.nn.ModuleList(GCNConv(a, b, normalize=False) for a, b in pairs)
            self.bwd = torch.nn.ModuleList(GCNConv(a, b, normalize=False) for a, b in pairs)
            self.head = torch.nn.Sequential(
                torch.nn.Linear(hidden, mlp_hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(mlp_hidden, 1),
            )

        def forward(
            self, x: Any, ef: Any, wf: Any, er: Any, wr: Any, batch: Any, n_graphs: int
        ) -> Any:
            for f, b in zip(self.fwd, self.bwd, strict=True):
                x = torch.relu(0.5 * (f(x, ef, wf) + b(x, er, wr)))
            return self.head(global_mean_pool(x, batch, size=n_graphs)).squeeze(-1)

    return BiGCN()


class GCNSurrogate(BaseSurrogate):
    """Neural Predictor GCN regressor over ``graph`` encodings (see the module docstring)."""

    input_kind = "graph"
    _loss = "mse"

    def __init__(
        self,
        *,
        hidden: int = 144,
        n_layers: int = 3,
        mlp_hidden: int = 128,
        epochs: int = 100,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 1e-3,
        seed: int = 0,
        n_threads: int = 1,
    ) -> None:
        self.hidden = hidden
        self.n_layers = n_layers
        self.mlp_hidden = mlp_hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.n_threads = n_threads

    def _targets(self, y: np.ndarray) -> np.ndarray:
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        return (y - self.y_mean_) / self.y_scale_

    def _fit(self, X: list[Graph], y: np.ndarray) -> None:
        packed = _PackedGraphs(X)
        in_dim = packed.x.shape[1]

        def forward(model: Any, idx: np.ndarray) -> Any:
            return model(*packed.batch(idx))

        self.model_ = train(
            lambda: _build_net(in_dim, self.hidden, self.n_layers, self.mlp_hidden),
            forward,
            self._targets(y),
            loss=self._loss,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            seed=self.seed,
            n_threads=self.n_threads,
        )

    def _raw(self, X: list[Graph]) -> np.ndarray:
        packed = _PackedGraphs(X)
        return predict_batches(
            self.model_,
            lambda m, idx: m(*packed.batch(idx)),
            len(X),
            n_threads=self.n_threads,
        )

    def _predict(self, X: list[Graph]) -> np.ndarray:
        return self._raw(X) * self.y_scale_ + self.y_mean_


class GCNClassifier(GCNSurrogate):
    """The Neural Predictor's cascade classifier: P(target above the training quantile)."""

    _loss = "bce"

    def __init__(self, *, threshold_quantile: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 < threshold_quantile < 1.0:
            from harness.surrogates._base import SurrogateInputError

            raise SurrogateInputError(
                f"threshold_quantile must be in (0, 1), got {threshold_quantile}"
            )
        self.threshold_quantile = threshold_quantile

    def _targets(self, y: np.ndarray) -> np.ndarray:
        self.threshold_ = float(np.quantile(y, self.threshold_quantile))
        return (y > self.threshold_).astype(np.float64)

    def _predict(self, X: list[Graph]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self._raw(X)))
