"""The testbed the paper asked for: score any training method on the simplicity-bias datasets.

``evaluate(method, scale="smoke")`` trains the paper's models with ``method`` and with vanilla
SGD (the reference row, same seeds, same data) and the positive control (plain SGD trained with S
randomized, so that it cannot use S: the row that shows how far each column can move) and returns a :class:`Scorecard` of every pitfall:
extreme SB on LMS-5 and MS-(5,7), in-distribution harm on noisy LMS-7, ensemble gains on MS-5,
fragility on LMS-5 and extreme SB on image dominoes. A method is a :class:`Method` (hooks for
the loss, an input perturbation, the recipe, a whole training function, members per predictor);
reference methods from the literature are in :mod:`sbcore.testbed.methods`. Each method is scored
on its own: one that diverges or raises gets a row saying what failed at which stage
(``Scorecard.failures()``), and the others keep theirs.

    >>> from sbcore import testbed
    >>> print(testbed.evaluate(testbed.methods.sam(), scale="smoke"))
"""

from . import methods
from .evaluation import CONTROL, MethodFailed, evaluate
from .protocol import Committee, Method, cross_entropy, load_method
from .scorecard import COLUMNS, Failure, Scorecard

__all__ = [
    "COLUMNS",
    "CONTROL",
    "Committee",
    "Failure",
    "Method",
    "MethodFailed",
    "Scorecard",
    "cross_entropy",
    "evaluate",
    "load_method",
    "methods",
]
