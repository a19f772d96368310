"""The error types dembias raises for bad input and storage problems."""

from __future__ import annotations

from pathlib import Path


class DembiasError(Exception):
    """Base class of every error dembias raises on purpose."""


class StoreError(DembiasError):
    """A workspace or run file is missing, corrupt or would be overwritten."""


class NothingToDo(DembiasError):
    """A stage was asked to run where there is nothing for it (no summary to score, no rewrite).

    The message says what is missing; a caller looping over debates may catch it and go on.
    """


class IngestError(DembiasError):
    """Bad input: the message names the file, the row (or line) and the field.

    ``row`` is the 1-based record number where a CSV header is row 1 (so the first data record is
    row 2, as a spreadsheet shows it), or the 1-based line number of a JSONL file; None when the
    problem is with the file as a whole.
    """

    def __init__(
        self,
        file: str | Path,
        problem: str,
        *,
        row: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.field = field
        self.problem = problem
        self.hint = hint
        where = self.file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        message = f"{where}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)
