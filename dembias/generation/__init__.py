"""Generation: outputs to audit (summaries, reformulations, translations) made by a causal LM from a debate.

- :mod:`~dembias.generation.stage`: :func:`run`, the stage's one entry point, and its steps;
- :mod:`~dembias.generation.params`: :class:`GenerationParams` (every option of a run) and :func:`variants`
  (the params of every prompt x repeated sample);
- :mod:`~dembias.generation.prompts`: the versioned prompt templates;
- :mod:`~dembias.generation.inputs`: the contributions a run reads (stratified, sampled);
- :mod:`~dembias.generation.summaries`: summaries of a whole debate (map-reduce, citations);
- :mod:`~dembias.generation.checkpoints`: the resumable JSONL checkpoint and storing it in the corpus;
- :mod:`~dembias.generation.records`: what a run did (:class:`GenerateResult`) and its manifest.

Models are loaded by :mod:`dembias.models.causal_lm`; importing this package loads none (nor torch).
"""

from dembias.generation.params import GenerationParams, variants
from dembias.generation.records import GenerateResult
from dembias.generation.stage import GenerationProgress, run

__all__ = ["GenerateResult", "GenerationParams", "GenerationProgress", "run", "variants"]
