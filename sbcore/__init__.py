"""sbcore: the library behind the companion book to "The Pitfalls of Simplicity Bias in Neural
Networks" (Shah et al., NeurIPS 2020).

Modules: ``data`` (synthetic slab datasets, image dominoes), ``models`` (stacked FCN/CNN/GRU and
the CIFAR-style zoo), ``train`` (one vectorized trainer), ``metrics`` (randomized metrics),
``attacks`` (PGD and universal perturbations), ``claims`` (the paper's claims and our verdicts),
``scales`` (smoke/book/paper presets), ``figures``, ``reproduce`` and ``runtime``.
"""

__version__ = "0.1.0"
