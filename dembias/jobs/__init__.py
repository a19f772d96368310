"""Rescoring jobs: the queue the dashboard imports, the worker, and runners that call the stages.

- :mod:`dembias.jobs.queue`: requests (:func:`submit_job`, with the request validation in
  :func:`~dembias.jobs.queue.check_request`), listing, cancel, resume, progress; files only, never models;
- :mod:`dembias.jobs.files`: the job record, its state folders, atomic JSON, quarantine of malformed files;
- :mod:`dembias.jobs.liveness`: worker heartbeats and dead workers;
- :mod:`dembias.jobs.worker`: claims jobs and runs them (:func:`run_worker`);
- :mod:`dembias.jobs.runners`: one runner per stage, each calling the stage function the CLI calls;
- :mod:`dembias.jobs.context`: progress and cancel checks a runner gets.

The names the dashboard and the CLI use are re-exported here (``from dembias.jobs import submit_job``).
"""

from dembias.jobs.context import JobContext
from dembias.jobs.files import (
    ENGINES,
    JOBS_DIR,
    QUARANTINE_DIR,
    STAGES,
    STATES,
    TERMINAL,
    Job,
    JobCancelled,
    JobProgress,
    job_problem,
    jobs_root,
    normalise_stage,
    quarantine,
    quarantined,
    write_json_atomic,
)
from dembias.jobs.liveness import live_workers, recover_dead_jobs
from dembias.jobs.queue import (
    cancel_job,
    cancel_requested,
    check_request,
    get_job,
    list_jobs,
    read_progress,
    resume_job,
    submit_job,
)
from dembias.jobs.runners import RUNNERS, EmbedderFactory, default_embedder_factory, job_manifest, map_params_from
from dembias.jobs.worker import claim_next, run_claimed, run_worker, write_heartbeat

__all__ = [
    "ENGINES",
    "JOBS_DIR",
    "QUARANTINE_DIR",
    "RUNNERS",
    "STAGES",
    "STATES",
    "TERMINAL",
    "EmbedderFactory",
    "Job",
    "JobCancelled",
    "JobContext",
    "JobProgress",
    "cancel_job",
    "cancel_requested",
    "check_request",
    "claim_next",
    "default_embedder_factory",
    "get_job",
    "job_manifest",
    "job_problem",
    "jobs_root",
    "list_jobs",
    "live_workers",
    "map_params_from",
    "normalise_stage",
    "quarantine",
    "quarantined",
    "read_progress",
    "recover_dead_jobs",
    "resume_job",
    "run_claimed",
    "run_worker",
    "submit_job",
    "write_heartbeat",
    "write_json_atomic",
]
