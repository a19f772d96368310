"""What a stage runner gets from the worker: its job, progress reporting and cancel checks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict

from dembias.jobs.files import PROGRESS_INTERVAL, Job, JobCancelled, JobProgress, _dir, _now, write_json_atomic
from dembias.jobs.queue import cancel_requested
from dembias.workspace.folder import Workspace


class JobContext:
    """What a stage runner gets: the job, progress reporting and cancel checks."""

    def __init__(self, ws: Workspace, job: Job, *, on_progress: Callable[[JobProgress], None] | None = None) -> None:
        self.ws = ws
        self.job = job
        self.on_progress = on_progress
        self.started = time.perf_counter()
        self._base_done = 0
        self._last_write = 0.0
        self.batch_size = job.batch_size
        self.done, self.total, self.message = 0, None, None

    def start_count(self, done: int, total: int | None) -> None:
        """Items already done before this attempt (found in the cache): they do not count in the rate."""
        self._base_done = done
        self.started = time.perf_counter()
        self.report(done, total, force=True)

    def report(self, done: int, total: int | None, *, message: str | None = None, force: bool = False) -> None:
        """Tell ``on_progress`` and write the progress file (at most every ``PROGRESS_INTERVAL`` seconds
        unless ``force``)."""
        self.done, self.total = done, total
        if message is not None:
            self.message = message
        now = time.perf_counter()
        elapsed = max(now - self.started, 1e-9)
        new = done - self._base_done
        rate = new / elapsed if new > 0 else None
        eta = (total - done) / rate if rate and total is not None else None
        progress = JobProgress(
            job_id=self.job.job_id,
            done=int(done),
            total=None if total is None else int(total),
            rate=None if rate is None else round(rate, 3),
            eta_s=None if eta is None else round(eta, 1),
            updated_at=_now(),
            pid=os.getpid(),
            message=self.message,
            batch_size=self.batch_size,
        )
        if force or now - self._last_write >= PROGRESS_INTERVAL:
            self._last_write = now
            write_json_atomic(_dir(self.ws, "progress") / f"{self.job.job_id}.json", asdict(progress))
        if self.on_progress:
            self.on_progress(progress)

    def say(self, message: str) -> None:
        """A progress message (for stages that report in words); a cancel request stops the job here."""
        self.report(self.done, self.total, message=message, force=True)
        self.check_cancel()

    def check_cancel(self) -> None:
        """Raise :class:`JobCancelled` when the job's cancel marker exists."""
        if cancel_requested(self.ws, self.job.job_id):
            raise JobCancelled(f"job {self.job.job_id} cancelled")

    def halved(self, old: int, new: int) -> None:
        """Told by the OOM-safe batching when the batch size halves."""
        self.batch_size = new
        self.say(f"out of memory at batch size {old}; retrying with {new}")
