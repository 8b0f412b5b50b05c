"""Figures from results, one module per chapter (or per paper figure), one shared style
(:mod:`.style`). Every function returns a matplotlib Figure and never trains."""
