"""Stage 3, fidelity of rewrites and translations, written as ``fidelity`` and ``interactions`` runs.

Similarity against a null, entailment, lexical and polarity flags, bot-citizen interaction logs. The entry
point of the ``fidelity`` run: :func:`run` (one debate per call) with its :class:`FidelityParams`."""

from dembias.fidelity.params import FidelityParams
from dembias.fidelity.stage import FidelityRun, run

__all__ = ["FidelityParams", "FidelityRun", "run"]
