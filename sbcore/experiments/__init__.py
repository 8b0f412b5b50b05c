"""Train-and-measure runners shared by the chapters and the testbed, one module per topic:

- ``stacks``: synthetic splits per seed, one stack trained and evaluated (Table 1's diagnostics).
- ``images``: the MNIST-CIFAR recipe, image dominoes, zoo models per seed and their evaluation.
- ``survives``: per-member grids as one stack, mixed members, non-random initialization (ch. 04).
- ``fragility``: the attack suite (PGD, SVD-UAP, AS-UAP), OOD and contradiction, flip budgets.
- ``generalization``: SGD hyperparameter grids as one stack per batch size (App. D.1).
- ``ensembles``: stacked ensembles, their gains, disagreement and randomized metrics (App. E.1).
- ``adversarial``: adversarial training through fit's perturb hook and its evaluation (App. E.2).
- ``theory``: Theorem 1 simulated on LSN data (App. F).
- ``recipes``: the study of which recipe trains which Table-4 model, run by
  ``python -m sbcore recipes``; ``recipe_records``: its models and recipes, and its record read,
  checked, merged and summarised for chapter 02.

Import from the submodule (``from sbcore.experiments.stacks import train_stack``); this package
re-exports nothing.
"""
