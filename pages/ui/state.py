"""The view's state: the :class:`Selection` a page works on, choices remembered across pages, and the URL.

Every choice a page makes is mirrored in the URL (query parameters), so a copied link reopens the same view; a
link that names something the workspace does not hold says so once (:func:`link_notices`).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dembias.workspace.folder import Workspace
from pages.ui import cache
from pages.ui.text import plain


@dataclass(frozen=True)
class Selection:
    """What the sidebar selected: workspace, debate, output, and the runs to read."""

    ws: Workspace
    debate_id: str | None
    output_id: str | None
    mapping_run: str | None
    pluralism_run: str | None = None
    fidelity_run: str | None = None
    output_label: str | None = None

    @property
    def root(self) -> str:
        return str(self.ws.root)


def workspace() -> Workspace:
    """The workspace this dashboard serves ($DEMBIAS_WORKSPACE, else data/workspace)."""
    return Workspace.resolve()


def latest_run_id(sel: Selection, stage: str) -> str | None:
    """The newest run of ``stage`` for the selected debate (None without one)."""
    options = cache.runs(sel.root, cache.version(sel.ws), stage, sel.debate_id)
    return options[0]["run_id"] if options else None


def remember(key: str, options: list[str], default: str | None = None) -> str:
    """Prepare the session state of the widget ``w_<key>`` before it is drawn, and return its key.

    A value already chosen in this session wins, so choices survive page switches (Streamlit drops a
    page's widget state when another page runs, so the value is also kept under ``keep_<key>``); else the
    URL's query parameter, so a shared link reopens the same view; else ``default``; else the first option.
    """
    state_key = f"w_{key}"
    for candidate in (
        st.session_state.get(state_key),
        st.session_state.get(f"keep_{key}"),
        st.query_params.get(key),
        default,
        options[0],
    ):
        if candidate in options:
            # assigned every run, before the widget exists: a widget met on another page would otherwise
            # fall back to its default instead of the value kept in the session
            st.session_state[state_key] = candidate
            break
    _check_link(key, options, st.session_state[state_key])
    return state_key


def kept(key: str, value: str | None) -> str | None:
    """Keep a widget's value beyond its page (see :func:`remember`) and return it."""
    st.session_state[f"keep_{key}"] = value
    return value


#: What each URL parameter names, for the notice when a link names something that does not exist.
LINK_NAMES = {
    "debate": "debate",
    "output": "summary",
    "map": "opinion map run",
    "prun": "pluralism scoring run",
    "frun": "fidelity scoring run",
    "outa": "output A",
    "outb": "output B",
    "runa": "run A",
    "runb": "run B",
    "crun": "scoring run",
    "cout": "output",
}


def _check_link(key: str, options: list[str], chosen: str) -> None:
    """Queue a notice when the link that opened this session names a value ``key`` does not hold.

    Checked once per key and session (the first time the widget is drawn, when its value comes from the link),
    so a later change of debate never reports the previous debate's summary as missing.
    """
    checked = st.session_state.setdefault("_link_checked", set())
    if key in checked:
        return
    checked.add(key)
    asked = st.query_params.get(key)
    if asked is not None and asked not in options:
        if key in LINK_NAMES:
            note = f"The link names the {LINK_NAMES[key]} '{asked}', which this workspace does not hold"
        else:
            note = f"The link sets '{key}' to '{asked}', which is not one of its choices"
        st.session_state.setdefault("_link_notices", []).append(f"{note}: showing '{chosen}' instead.")


def link_notices() -> None:
    """Show (once) the notices :func:`_check_link` queued: a link that named something that does not exist."""
    for note in st.session_state.pop("_link_notices", []):
        st.warning(plain(note), icon="⚠️")


def set_params(**values: str | None) -> None:
    """Mirror view state in the URL (None removes a key)."""
    for key, value in values.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


def url_first(key: str, options: list[str]) -> None:
    """A new value of the URL's ``key`` wins over the session's widget value: a link that names an item opens it.

    "New": not the value this session last saw there (the page writes its widget's value back into the URL,
    so after a reader's own choice the URL is not new, and their choice stands).
    """
    value = st.query_params.get(key)
    seen = f"url_seen_{key}"
    if value in options and value != st.session_state.get(seen):
        st.session_state[f"w_{key}"] = value
        st.session_state[f"keep_{key}"] = value
    st.session_state[seen] = value
