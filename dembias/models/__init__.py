"""Models: the only place that loads weights.

- :mod:`dembias.models.devices`: the one device resolver, memory, OOM-safe batching;
- :mod:`dembias.models.embedders`: the :class:`Embedder` protocol, real embedders, the one spec parser
  and the registry tests use for their fake embedder;
- :mod:`dembias.models.vectors`: embedding vectors as Arrow columns and the text hash that keys them;
- :mod:`dembias.models.nli`: the one NLI judge (pluralism linking and fidelity scoring);
- :mod:`dembias.models.catalog`: which models this machine has without a network.

Causal LMs are loaded by :func:`dembias.generation.generate.load_model`; Ray embedding by :mod:`dembias.models.ray_engine`.
Submodules are imported on demand (torch and transformers stay out of light imports).
"""
