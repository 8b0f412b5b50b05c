"""The book's shared figure style: colours for the classes and for the three test variants
(standard black, Sc-randomized green, S-randomized orange), and matplotlib rcParams applied once
on import. Every figure module imports it; no figure module trains anything."""

from __future__ import annotations

import matplotlib.pyplot as plt

NEG, POS = "#1f77b4", "#d62728"  # class -1 / +1 colours used in every figure
VARIANT_COLOURS = {"standard": "#333333", "Sc-randomized": "#2ca02c", "S-randomized": "#ff7f0e"}

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 200, "axes.spines.top": False,
                     "axes.spines.right": False, "font.size": 9, "axes.titlesize": 10})
