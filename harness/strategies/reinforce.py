"""REINFORCE, the NB201 paper's policy-gradient baseline (Williams 1992; Dong & Yang 2020).

An independent categorical policy per gene (NB201: 6 edges x 5 ops) with learnable logits; each
told result updates the logits by Adam on ``-(reward - baseline) * log p(arch)``, with an
exponential-moving-average baseline (momentum 0.9). The NB201 paper's script uses learning rate
0.001 (AutoDL-Projects ``REINFORCE.sh``), NATS-Bench's 0.01. Implemented in numpy: the policy is
30 numbers, a framework would only add start-up time and nondeterminism.
Works on spaces with a categorical genome (``gene_shape``), i.e. the native NB201 space.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from harness.errors import ConfigError
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy


class Reinforce(Strategy):
    name = "reinforce"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        learning_rate: float = 0.001,
        ema_momentum: float = 0.9,
    ) -> None:
        super().__init__(space, seed=seed)
        shape = getattr(space, "gene_shape", None)
        if shape is None:
            raise ConfigError(
                f"REINFORCE needs a space with a categorical genome (gene_shape); "
                f"{space.name!r} has none (use the native 'nb201' space)"
            )
        if not (learning_rate > 0 and 0 <= ema_momentum < 1):
            raise ConfigError("learning_rate must be > 0 and ema_momentum in [0, 1)")
        self.n_genes, self.n_choices = shape
        self.lr, self.momentum = float(learning_rate), float(ema_momentum)
        self.logits = 1e-3 * self.rng.standard_normal((self.n_genes, self.n_choices))
        self._m = np.zeros_like(self.logits)
        self._v = np.zeros_like(self.logits)
        self._t = 0
        self.baseline: float | None = None
        self._p: np.ndarray | None = None

    def _probs(self) -> np.ndarray:
        """The policy's softmax, computed once per logits update (ask and tell both need it)."""
        if self._p is None:
            z = self.logits - self.logits.max(axis=1, keepdims=True)
            e = np.exp(z)
            self._p = np.asarray(e / e.sum(axis=1, keepdims=True))
        return self._p

    def ask(self) -> Hashable:
        p = self._probs()
        u = self.rng.random(self.n_genes)
        genes = (p.cumsum(axis=1) < u[:, None]).sum(axis=1)
        return tuple(int(min(g, self.n_choices - 1)) for g in genes)

    def _tell(self, obs: Observation) -> None:
        if not obs.ok:
            return
        r = float(obs.signal)
        self.baseline = (
            r if self.baseline is None else self.momentum * self.baseline + (1 - self.momentum) * r
        )
        adv = r - self.baseline
        onehot = np.zeros_like(self.logits)
        onehot[np.arange(self.n_genes), np.asarray(obs.arch)] = 1.0
        grad = -adv * (onehot - self._probs())  # gradient of the loss -(adv) log p
        self._t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        self._m = b1 * self._m + (1 - b1) * grad
        self._v = b2 * self._v + (1 - b2) * grad**2
        m_hat = self._m / (1 - b1**self._t)
        v_hat = self._v / (1 - b2**self._t)
        self.logits -= self.lr * m_hat / (np.sqrt(v_hat) + eps)
        self._p = None
