"""Devices: the one place that decides which accelerator a model runs on, its free memory, and OOM-safe batching.

``resolve_device`` is what every model loader calls (embedders, the NLI judge, causal LMs): the
device asked for, else the best present.

``detect_device`` says where a job will run (``cuda`` when present, else ``mps``, else ``cpu``; a
requested device that is missing falls back to the CPU with a warning). ``adaptive_batches`` runs a
function over items in batches and, when the accelerator runs out of memory, halves the batch size and
retries the same batch, down to ``min_batch_size``. ``with_oom_retry`` does the same for a whole call
that takes a batch size (NLI scoring, generation), retrying it with half the batch size.
"""

from __future__ import annotations

import gc
import logging
import os
import platform
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from dembias.errors import DembiasError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

CPU_WARNING = "no GPU found: the job runs on the CPU, which is slow for large models"


@dataclass(frozen=True)
class DeviceInfo:
    """The device a job will use and what is known of its memory."""

    device: str
    name: str
    free_bytes: int | None = None
    total_bytes: int | None = None
    warning: str | None = None

    @property
    def is_gpu(self) -> bool:
        return self.device.startswith(("cuda", "mps"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return asdict(self)

    def describe(self) -> str:
        """One line such as ``cuda:0 (NVIDIA H200), 130.2 GiB free of 139.8 GiB``."""
        text = f"{self.device} ({self.name})"
        if self.free_bytes is not None and self.total_bytes:
            text += f", {self.free_bytes / 2**30:.1f} GiB free of {self.total_bytes / 2**30:.1f} GiB"
        return text


def _torch() -> Any | None:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return torch


def _cpu(warning: str | None) -> DeviceInfo:
    name = platform.processor() or platform.machine() or "cpu"
    try:
        pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * size
        free = pages * size
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        free = total = None
    return DeviceInfo(device="cpu", name=name, free_bytes=free, total_bytes=total, warning=warning)


def detect_device(requested: str | None = None) -> DeviceInfo:
    """The device a job asking for ``requested`` (None or ``auto``: the best present) will use.

    A CUDA device reports its free and total memory (``torch.cuda.mem_get_info``). A requested device
    that is not present falls back to the CPU with a warning; running on the CPU always carries one.
    """
    torch = _torch()
    wanted = (requested or "auto").strip().lower()
    if torch is None:
        return _cpu(CPU_WARNING)
    if wanted in ("auto", "cuda") or wanted.startswith("cuda:"):
        if torch.cuda.is_available():
            index = int(wanted.split(":", 1)[1]) if ":" in wanted else torch.cuda.current_device()
            if index >= torch.cuda.device_count():
                return _cpu(f"no CUDA device {index} (found {torch.cuda.device_count()}); falling back to the CPU")
            free, total = torch.cuda.mem_get_info(index)
            return DeviceInfo(
                device=f"cuda:{index}",
                name=torch.cuda.get_device_name(index),
                free_bytes=int(free),
                total_bytes=int(total),
            )
        if wanted != "auto":
            return _cpu(f"{requested} was requested but no CUDA device is present; falling back to the CPU")
    mps = getattr(torch.backends, "mps", None)
    mps_ok = mps is not None and mps.is_available()
    if wanted in ("auto", "mps"):
        if mps_ok:
            total = getattr(getattr(torch, "mps", None), "recommended_max_memory", lambda: None)()
            used = getattr(getattr(torch, "mps", None), "driver_allocated_memory", lambda: None)()
            free = int(total - used) if total is not None and used is not None else None
            return DeviceInfo(device="mps", name="Apple MPS", free_bytes=free, total_bytes=total)
        if wanted == "mps":
            return _cpu("mps was requested but is not available; falling back to the CPU")
    if wanted not in ("auto", "cpu", "cuda", "mps") and not wanted.startswith("cuda:"):
        raise DembiasError(f"unknown device {requested!r}: use auto, cuda, cuda:N, mps or cpu")
    return _cpu(CPU_WARNING if wanted == "auto" else None)


def resolve_device(device: str | None = None) -> str:
    """``device`` when given (not ``auto``), else the best present: ``cuda:N``, then ``mps``, then ``cpu``.

    The one device resolver of dembias; model loaders call it, jobs and the dashboard call
    :func:`detect_device` for the memory and the warning as well.
    """
    if device and device.strip().lower() != "auto":
        return device
    return detect_device(None).device


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an accelerator out-of-memory error (CUDA's own type, or a RuntimeError saying so)."""
    torch = _torch()
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch else None
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_accelerator_memory() -> None:
    """Release cached blocks after an out-of-memory error, so the retry starts clean."""
    gc.collect()
    torch = _torch()
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None) if torch is not None else None
    if mps is not None and hasattr(mps, "empty_cache") and torch.backends.mps.is_available():
        mps.empty_cache()


class OutOfMemoryAtMinimum(DembiasError):
    """Out of memory even at the smallest batch size allowed."""


def adaptive_batches(
    items: Sequence[T],
    fn: Callable[[Sequence[T]], R],
    *,
    batch_size: int,
    min_batch_size: int = 1,
    on_oom: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, int, R]]:
    """Yield ``(start, stop, fn(items[start:stop]))`` over ``items``, halving the batch on out-of-memory.

    When ``fn`` raises an out-of-memory error (see :func:`is_oom`), the batch size halves (``on_oom(old,
    new)`` is told) and the same batch is retried; the smaller size is kept for the rest. Below
    ``min_batch_size`` an :class:`OutOfMemoryAtMinimum` is raised. Other errors propagate unchanged.
    Between yields the caller may checkpoint, report progress or stop.
    """
    if batch_size < 1 or min_batch_size < 1:
        raise ValueError("batch sizes must be at least 1")
    size = batch_size
    start = 0
    while start < len(items):
        stop = min(start + size, len(items))
        try:
            result = fn(items[start:stop])
        except Exception as exc:
            size = _halved_after(exc, size, min_batch_size=min_batch_size, on_oom=on_oom)
            continue
        yield start, stop, result
        start = stop


def _halved_after(exc: Exception, size: int, *, min_batch_size: int, on_oom: Callable[[int, int], None] | None) -> int:
    """The batch size to retry with after ``exc``: half of ``size`` when it was an out-of-memory error.

    Any other error is re-raised; below ``min_batch_size`` it raises :class:`OutOfMemoryAtMinimum`.
    """
    if not is_oom(exc):
        raise exc
    free_accelerator_memory()
    smaller = size // 2
    if smaller < min_batch_size:
        raise OutOfMemoryAtMinimum(f"out of memory even with batch size {size}: {exc}") from exc
    log.warning("out of memory at batch size %d; retrying with %d", size, smaller)
    if on_oom:
        on_oom(size, smaller)
    return smaller


def with_oom_retry(
    fn: Callable[[int], R],
    *,
    batch_size: int,
    min_batch_size: int = 1,
    on_oom: Callable[[int, int], None] | None = None,
) -> R:
    """``fn(batch_size)``, retried with half the batch size after each out-of-memory error."""
    size = batch_size
    while True:
        try:
            return fn(size)
        except Exception as exc:
            size = _halved_after(exc, size, min_batch_size=min_batch_size, on_oom=on_oom)
