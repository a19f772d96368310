"""Who may see what, and how: the password gate, the client options the dashboard relies on, errors as a viewer
sees them, and the one use of a private Streamlit API (:func:`leave_pages_directory_mode`)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dembias.errors import DembiasError
from dembias.read import access
from pages.ui.text import plain

F = TypeVar("F", bound=Callable[..., Any])

#: Client options the dashboard relies on for safety, whatever config.toml was (or was not) read: the
#: dataframe toolbar's own CSV export bypasses dembias.read.export (every table has a guarded download instead),
#: and a viewer never sees a traceback or a server path (errors are logged on the server's console).
CLIENT_OPTIONS = {"client.disableDataExport": True, "client.showErrorDetails": "none"}

_SERVER_PATH = re.compile(r"(?:/[^/\s:'\"]+)+/([^/\s:'\"]+)")
log = logging.getLogger("dembias.dashboard")


def leave_pages_directory_mode() -> None:
    """Make a deep link work on a fresh server.

    The fixed project layout has a ``pages/`` folder, so Streamlit starts in its old "pages directory"
    mode, where a first request for ``/map`` runs ``pages/map.py`` alone, without ``app.py`` and its
    ``st.navigation``. Calling ``st.navigation`` once leaves that mode for good; until then, a page run
    on its own switches the mode off and reruns through ``app.py``, which lands on the same page (page
    files are named like their URL paths, so their page hashes match). That mode only ever lists
    ``pages/*.py``: the package ``pages/ui/`` is never taken for a page.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def lock_client_options() -> None:
    """Set :data:`CLIENT_OPTIONS` once per server process; rerun so the browser gets them on this first run.

    The browser receives these options at the start of each script run, so a run that changed them
    starts over (once per process, before any data is shown).
    """
    changed = False
    for key, value in CLIENT_OPTIONS.items():
        if st.get_option(key) != value:
            st.set_option(key, value)
            changed = True
    if changed and get_script_run_ctx() is not None:
        st.rerun()


def for_viewer(exc: BaseException) -> str:
    """An error's message with server paths cut to their last component (the full one is logged)."""
    log.warning("shown to a viewer: %s", exc)
    return _SERVER_PATH.sub(r"\1", str(exc))


def show_error(exc: DembiasError) -> None:
    """The message a viewer sees when a view cannot be shown (e.g. a corrupted run file): no server path."""
    st.error(
        f"This view cannot be shown: {plain(for_viewer(exc))}. Pick another run under **Runs** in the sidebar.",
        icon="⚠️",
    )


def stop_on_error(func: F) -> F:
    """Show a dembias error (e.g. a corrupted run file) as a clear message and stop the page, not a traceback.

    app.py does the same around every page; this also covers a page run on its own (pages-directory mode).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DembiasError as exc:
            show_error(exc)
            st.stop()

    return wrapper  # type: ignore[return-value]


def unlocked() -> bool:
    """Whether the dashboard may show data: no password configured, or it was entered in this session."""
    try:
        digest = access.expected_digest()
    except ValueError:
        return False
    return digest is None or bool(st.session_state.get("dembias_authenticated"))


def password_gate() -> None:
    """When ``DEMBIAS_PASSWORD_SHA256`` is set, show only a password form until it is entered (dembias.read.access).

    app.py calls it before ``st.navigation`` runs a page, and :func:`pages.ui.sidebar.sidebar` again, so a page
    script run on its own (a deep link on a fresh server) is gated too.
    """
    try:
        digest = access.expected_digest()
    except ValueError as exc:
        st.error(f"The dashboard is locked: {exc}.")
        st.stop()
    if digest is None or st.session_state.get("dembias_authenticated"):
        return
    st.title("dembias")
    with st.form("password_gate"):
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Enter"):
            if access.password_ok(password, digest):
                st.session_state["dembias_authenticated"] = True
                st.rerun()
            st.error("Wrong password.")
    st.stop()
