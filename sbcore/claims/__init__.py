"""The paper's claims #1-#31, the checks chapters make for them, records, verdicts, scoreboard.

- :mod:`.registry`: the claims (``CLAIMS``); :mod:`.checks`: every check, declared with the
  paper's printed value, its source, the criterion and its rationale (``CHECKS``);
- :mod:`.records`: ``ClaimRecord``, saving, loading (re-evaluated from values, criteria checked
  against the registry), pooling;
- :mod:`.scoreboard`: verdicts per claim and the four headline claims (#31);
- :mod:`.run`: a chapter's ``Run`` (built by :func:`sbcore.chapters.start`);
- :mod:`.display`: tables, the settings panel and glue.
"""

from .checks import CHECKS, Check
from .records import (
    ClaimNotReproduced,
    ClaimRecord,
    against_registry,
    check_counts,
    check_unique,
    load_folder,
    load_records,
    merge,
    parse_records,
    save_records,
)
from .registry import CLAIMS, Claim
from .scoreboard import claim_rows, headline_rows, markdown_table, verdict_class, verdict_of

__all__ = [
    "CLAIMS",
    "Claim",
    "CHECKS",
    "Check",
    "ClaimRecord",
    "ClaimNotReproduced",
    "against_registry",
    "check_counts",
    "check_unique",
    "load_folder",
    "load_records",
    "parse_records",
    "merge",
    "save_records",
    "claim_rows",
    "headline_rows",
    "markdown_table",
    "verdict_class",
    "verdict_of",
]
