"""What every dashboard page shares, one module per concern.

* :mod:`~pages.ui.access`: the password gate, client options, errors as a viewer sees them;
* :mod:`~pages.ui.cache`: the one cache layer over the library's reads;
* :mod:`~pages.ui.state`: the :class:`~pages.ui.state.Selection`, remembered choices and the URL;
* :mod:`~pages.ui.sidebar`: the sidebar that makes the selection, and the head of a summary's page;
* :mod:`~pages.ui.widgets`: charts, tables, downloads, quotes, URL-backed pickers, the annotation popover;
* :mod:`~pages.ui.render`: findings, the summary's sentences, the audit report;
* :mod:`~pages.ui.text`: user text safe in markdown; :mod:`~pages.ui.map_chart`: the opinion map's component.

Pages stay thin: they take a Selection, query through the cache, call a plot builder from ``dembias.plots`` and
render. Importing this package prepares the server process once (as the first page script imports it).
"""

from __future__ import annotations

from dembias.workspace.private_files import use_private_umask
from pages.ui.access import leave_pages_directory_mode, lock_client_options

leave_pages_directory_mode()
lock_client_options()
use_private_umask()  # state.duckdb (audit notes) and job files the dashboard writes are its user's only
