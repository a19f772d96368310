"""Stage 3, fidelity of rewrites and translations, written as ``fidelity`` and ``interactions`` runs.

Similarity against a null, entailment, lexical and polarity flags, bot-citizen interaction logs."""
