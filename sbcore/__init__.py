"""sbcore: the library behind the companion book to "The Pitfalls of Simplicity Bias in Neural
Networks" (Shah et al., NeurIPS 2020).

A file directly under ``sbcore/`` is library; every folder is a wing named by topic. Layers,
each importing only from those below it (``tests/test_layers.py`` enforces it): ``chapters``
(one module per notebook) -> ``claims`` (registry of claims and checks, records, verdicts, a
chapter's Run) and ``figures`` -> ``experiments`` (the train-and-measure runners: stacks, images,
survives, fragility, generalization, ensembles, adversarial, theory, recipes) -> ``metrics``,
``attacks``, ``margins``, ``oracles``, ``probes`` -> ``train`` -> ``models`` -> ``data`` ->
``runtime``, ``scales``. ``reproduce`` (schedule, jobs, readme) reruns chapters as jobs.
``sbcore.start(...)`` starts a chapter.
"""

__version__ = "0.2.0"


def __getattr__(name: str):
    if name == "start":  # imported lazily: `import sbcore.data` must not import every chapter
        from .chapters import start

        return start
    raise AttributeError(f"module 'sbcore' has no attribute {name!r}")
