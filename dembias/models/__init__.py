"""Models: the only place that loads weights.

- :mod:`dembias.models.devices`: the one device resolver, memory, OOM-safe batching;
- :mod:`dembias.models.embedders`: the :class:`Embedder` protocol, real embedders, the one spec parser
  and the registry tests use for their fake embedder;
- :mod:`dembias.models.vectors`: embedding vectors as Arrow columns and the text hash that keys them;
- :mod:`dembias.models.nli`: the one NLI judge (pluralism linking and fidelity scoring);
- :mod:`dembias.models.causal_lm`: causal LMs for generation (the :class:`TextGenerator` protocol,
  the transformers engine, the SmolLM2 default, the engine choice of :func:`load_generator`), with the
  vLLM engine in :mod:`dembias.models.vllm_engine` and OpenAI-compatible servers in
  :mod:`dembias.models.llm_server`;
- :mod:`dembias.models.catalog`: which models this machine has without a network;
- :mod:`dembias.models.ray_engine`: Ray embedding.

Submodules are imported on demand (torch and transformers stay out of light imports).
"""
