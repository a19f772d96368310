"""What every page shares: the workspace, cached queries, the sidebar selection and URL state.

Pages stay thin: they take a :class:`Selection`, query through the cached functions here, call a plot
builder from ``dembias.plots`` and render. Every choice a page makes is mirrored in the URL (query
parameters), so a copied link reopens the same view.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dembias.errors import DembiasError
from dembias.plots.opinion_map import with_hover
from dembias.plots.style import figure_file_name, with_title
from dembias.read import access, queries
from dembias.read.export import to_csv_bytes
from dembias.read.highlight import highlight_words
from dembias.read.report_html import summary_sentences_html
from dembias.read.verdict import model_label
from dembias.read.vocabulary import column_help, column_label, readable_table
from dembias.workspace.annotations import LABELS, MAX_AUTHOR, MAX_NOTE, Annotation, add_annotation
from dembias.workspace.folder import Workspace
from dembias.workspace.private_files import use_private_umask
from dembias.workspace.runs import list_runs
from dembias.workspace.staleness import run_staleness, stale_warning


def leave_pages_directory_mode() -> None:
    """Make a deep link work on a fresh server.

    The fixed project layout has a ``pages/`` folder, so Streamlit starts in its old "pages directory"
    mode, where a first request for ``/map`` runs ``pages/map.py`` alone, without ``app.py`` and its
    ``st.navigation``. Calling ``st.navigation`` once leaves that mode for good; until then, a page run
    on its own switches the mode off and reruns through ``app.py``, which lands on the same page (page
    files are named like their URL paths, so their page hashes match).
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


leave_pages_directory_mode()

#: Client options the dashboard relies on for safety, whatever config.toml was (or was not) read: the
#: dataframe toolbar's own CSV export bypasses dembias.read.export (every table has a guarded download instead),
#: and a viewer never sees a traceback or a server path (errors are logged on the server's console).
CLIENT_OPTIONS = {"client.disableDataExport": True, "client.showErrorDetails": "none"}


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


lock_client_options()
use_private_umask()  # state.duckdb (audit notes) and job files the dashboard writes are its user's only


def _or_error(func):
    """Show a dembias error (e.g. a corrupted run file) as a clear message and stop the page, not a traceback.

    app.py does the same around every page; this also covers a page run on its own (pages-directory mode).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DembiasError as exc:
            st.error(
                f"This view cannot be shown: {plain(for_viewer(exc))}. Pick another run under **Runs** in the sidebar.",
                icon="⚠️",
            )
            st.stop()

    return wrapper


_SERVER_PATH = re.compile(r"(?:/[^/\s:'\"]+)+/([^/\s:'\"]+)")
log = logging.getLogger("dembias.dashboard")


def for_viewer(exc: BaseException) -> str:
    """An error's message with server paths cut to their last component (the full one is logged)."""
    log.warning("shown to a viewer: %s", exc)
    return _SERVER_PATH.sub(r"\1", str(exc))


def workspace() -> Workspace:
    """The workspace this dashboard serves ($DEMBIAS_WORKSPACE, else data/workspace)."""
    return Workspace.resolve()


def version(ws: Workspace) -> tuple[float, int]:
    """Cache key that changes when the corpus is replaced or a run lands."""
    return queries.workspace_version(ws)


@st.cache_data(show_spinner=False, max_entries=64)
def debates(root: str, _version: tuple[float, int]) -> pd.DataFrame:
    return queries.debates_table(Workspace(root))


@st.cache_data(show_spinner=False, max_entries=64)
def outputs(root: str, _version: tuple[float, int], debate_id: str) -> pd.DataFrame:
    return queries.outputs_table(Workspace(root), debate_id)


@st.cache_data(show_spinner=False, max_entries=64)
def runs(root: str, _version: tuple[float, int], stage: str, debate_id: str) -> list[dict]:
    return [
        {
            "run_id": r.run_id,
            "created_at": r.created_at,
            "params": r.manifest.get("params", {}),
            "inputs": r.manifest.get("inputs", []),
            "rescores": r.manifest.get("rescores"),
        }
        for r in queries.run_options(Workspace(root), stage=stage, debate_id=debate_id)
    ]


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def run_table(root: str, run_id: str, table: str) -> pd.DataFrame:
    """Runs never change, so the run id alone is a sufficient cache key."""
    return queries.run_table(Workspace(root), run_id, table)


@_or_error
@st.cache_data(show_spinner=False, max_entries=16)
def map_points(root: str, debate_id: str, mapping_run: str, cap: int) -> pd.DataFrame:
    """The map's points with their hover text escaped once (a colour change then only regroups them)."""
    return with_hover(queries.map_points(Workspace(root), debate_id=debate_id, mapping_run=mapping_run, cap=cap))


@_or_error
@st.cache_data(show_spinner=False, max_entries=16)
def n_mapped(root: str, mapping_run: str) -> int:
    return queries.n_mapped(Workspace(root), mapping_run)


FIGURE_FORMATS = ["png", "svg"]
# WebGL canvases (the opinion map) are drawn at this many pixels per CSS pixel. Plotly's default, 2, supersamples
# four times the pixels: in Chromium without a GPU that doubled the map's draw time (0.61 s -> 0.33 s at 5,000
# points, benchmarks/webgl.py); on a high-DPI screen 1 makes the dots slightly softer. SVG charts ignore it.
GL_PIXEL_RATIO = 1


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


def _remember(key: str, options: list[str], default: str | None = None) -> str:
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


def _kept(key: str, value: str | None) -> str | None:
    """Keep a widget's value beyond its page (see :func:`_remember`) and return it."""
    st.session_state[f"keep_{key}"] = value
    return value


def unlocked() -> bool:
    """Whether the dashboard may show data: no password configured, or it was entered in this session."""
    try:
        digest = access.expected_digest()
    except ValueError:
        return False
    return digest is None or bool(st.session_state.get("dembias_authenticated"))


def password_gate() -> None:
    """When ``DEMBIAS_PASSWORD_SHA256`` is set, show only a password form until it is entered (dembias.read.access).

    app.py calls it before ``st.navigation`` runs a page, and :func:`sidebar` again, so a page script
    run on its own (a deep link on a fresh server) is gated too.
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


def sidebar() -> Selection | None:
    """Render the sidebar pickers (debate, summary, runs) and mirror them in the URL."""
    password_gate()
    ws = workspace()
    if not ws.exists():
        st.error(f"No workspace at {ws.root}. Build the demo with `dembias demo` or set DEMBIAS_WORKSPACE.")
        return None
    ver = version(ws)
    table = debates(str(ws.root), ver)
    ids = table["debate_id"].tolist()
    if not ids:
        st.warning("The workspace holds no debate yet: ingest one with `dembias ingest`.")
        return None
    titles = dict(zip(table["debate_id"], table["title"], strict=True))
    with st.sidebar:
        debate_id = _kept(
            "debate",
            st.selectbox("Debate", ids, key=_remember("debate", ids), format_func=lambda d: f"{d} — {titles[d][:40]}"),
        )
        out = outputs(str(ws.root), ver, debate_id)
        summaries = out[out["task"] == "summary"].copy()
        # real model outputs first, baselines (model "baseline:...") after them
        summaries["_baseline"] = summaries["model"].str.startswith("baseline:")
        summaries["_model"] = summaries["model"].str.lower()
        summaries = summaries.sort_values(["_baseline", "_model"], kind="stable")
        output_ids = summaries["output_id"].tolist()
        labels = {r.output_id: f"{r.model} · {r.n_units} units" for r in summaries.itertuples()}
        output_id = None
        if output_ids:
            output_id = _kept(
                "output",
                st.selectbox(
                    "Summary to audit", output_ids, key=_remember("output", output_ids), format_func=labels.get
                ),
            )
        with st.expander("Runs", expanded=False):
            mapping_run = _run_picker(ws, ver, "mapping", debate_id, "Opinion map run", "map")
            pluralism_run = _run_picker(ws, ver, "pluralism", debate_id, "Pluralism scoring run", "prun", mapping_run)
            fidelity_run = _run_picker(ws, ver, "fidelity", debate_id, "Fidelity scoring run", "frun", mapping_run)
        url_widget(
            st.radio,
            "Save figures as",
            FIGURE_FORMATS,
            key="figfmt",
            horizontal=True,
            help="The camera button above each chart saves it in this format (SVG keeps text as text).",
        )
        glossary()
    link_notices()
    set_params(debate=debate_id, output=output_id, map=mapping_run, prun=pluralism_run, frun=fidelity_run)
    for note in stale_notes(str(ws.root), ver, tuple(r for r in (mapping_run, pluralism_run, fidelity_run) if r)):
        st.warning(note, icon="⚠️")
    with st.sidebar:  # next to the run pickers, not above the page's title and finding
        run_parameters_expander(str(ws.root), ver, tuple(r for r in (mapping_run, pluralism_run, fidelity_run) if r))
    return Selection(
        ws=ws,
        debate_id=debate_id,
        output_id=output_id,
        mapping_run=mapping_run,
        pluralism_run=pluralism_run,
        fidelity_run=fidelity_run,
        output_label=labels.get(output_id) if output_id else None,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def stale_notes(root: str, version: tuple[float, int], run_ids: tuple[str, ...]) -> list[str]:
    """Warnings for the selected runs whose debate changed since they read it (``version`` keys the cache)."""
    ws = Workspace(root)
    chosen = [r for r in list_runs(ws) if r.run_id in run_ids]
    verdicts = run_staleness(ws, chosen)
    notes = [stale_warning(ws, r, verdict=verdicts[r.run_id]) for r in chosen]
    return [n for n in notes if n]


def _run_picker(
    ws: Workspace, ver: tuple[float, int], stage: str, debate_id: str, label: str, key: str, using: str | None = None
) -> str | None:
    """A picker of a debate's runs of one stage; by default the newest built on run ``using``."""
    options = runs(str(ws.root), ver, stage, debate_id)
    run_ids = [r["run_id"] for r in options]
    if not run_ids:
        return None
    preferred = next((r["run_id"] for r in options if using and using in r["inputs"]), run_ids[0])
    return _kept(key, st.selectbox(label, run_ids, key=_remember(key, run_ids, preferred)))


def chart_config(key: str, *, filename: str | None = None) -> dict[str, Any]:
    """Plotly config of a chart: its camera button saves it in the sidebar's format (PNG or SVG) as ``filename``
    (else ``key``)."""
    fmt = st.session_state.get("w_figfmt", FIGURE_FORMATS[0])
    if filename is None:  # a chart drawn without a Selection still says which debate and output it shows
        filename = figure_file_name(key, st.session_state.get("keep_debate"), st.session_state.get("keep_output"))
    return {
        "toImageButtonOptions": {"format": fmt, "filename": filename, "scale": 2},
        "displaylogo": False,
        "plotGlPixelRatio": GL_PIXEL_RATIO,
    }


def chart(
    figure: Any,
    *,
    key: str,
    title: str | None = None,
    sel: Selection | None = None,
    of_output: bool = True,
    **kwargs: Any,
) -> Any:
    """A full-width Plotly chart configured by :func:`chart_config`.

    With ``title`` and ``sel``, the chart is titled with what it shows, the debate and (``of_output``) the
    summary, and its saved image is named after them (``survival_nz-ubi_SmolLM2-135M-Instruct.png``).
    """
    filename = None
    if title and sel is not None:
        output = sel.output_label if of_output and sel.output_label else None
        model = model_label(output.split(" · ")[0]) if output else None
        with_title(figure, title, " — ".join(p for p in (f"debate {sel.debate_id}", output) if p))
        filename = figure_file_name(key, sel.debate_id, model)
    return st.plotly_chart(figure, key=key, width="stretch", config=chart_config(key, filename=filename), **kwargs)


def set_params(**values: str | None) -> None:
    """Mirror view state in the URL (None removes a key)."""
    for key, value in values.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


def choice(label: str, options: list[str], *, key: str, horizontal: bool = True, **kwargs) -> str:
    """A radio whose value lives in the URL under ``key``."""
    return url_widget(st.radio, label, options, key=key, horizontal=horizontal, **kwargs)


def url_widget(widget: Any, label: str, options: list[str], *, key: str, **kwargs: Any) -> str:
    """``widget`` (st.radio, st.select_slider, ...) over ``options``, its value kept in the session and the URL."""
    value = _kept(key, widget(label, options, key=_remember(key, options), **kwargs))
    set_params(**{key: value})
    link_notices()
    return value


def url_select(
    label: str, options: list[str], *, key: str, default: str | None = None, container: Any = None, **kwargs: Any
) -> str:
    """A selectbox (in ``container``, default the page) whose value lives in the session and the URL under ``key``."""
    place = container if container is not None else st
    value = _kept(key, place.selectbox(label, options, key=_remember(key, options, default), **kwargs))
    set_params(**{key: value})
    link_notices()
    return value


def download(frame: pd.DataFrame, name: str, *, label: str = "Download CSV") -> None:
    """A CSV download of ``frame``, safe to open in a spreadsheet, made only when the viewer clicks.

    Deferred (a callable): a CSV passed as bytes was stored on the server at every rerun and served at
    ``/media/<id>.csv`` to anyone holding that URL while the session lived, past the password gate. Now no
    file exists until a viewer who passed the gate clicks (Streamlit keeps it a while after, at a URL only
    that browser was told). It also spares every rerun the CSV's cost.
    """
    st.download_button(label, lambda: to_csv_bytes(frame), file_name=f"{name}.csv", mime="text/csv", key=f"dl_{name}")


def text_table(
    frame: pd.DataFrame | pd.io.formats.style.Styler, *, column_config: dict | None = None, **kwargs
) -> None:
    """A dataframe whose user text is shown as plain text (st.dataframe never renders HTML or markdown).

    Every table goes through :func:`dembias.read.vocabulary.readable_table`: human column names with their help
    text as the header's tooltip, ids as integers, ``—`` for a missing cell. Columns the caller configures
    in ``column_config`` keep their raw name (the caller labels them).
    """
    config = dict(column_config or {})
    if isinstance(frame, Styler):  # a styled table names its own columns (Across debates)
        first = frame.data.columns[0] if len(frame.data.columns) else None
        if first is not None and first not in config:
            config[first] = st.column_config.Column(str(first), pinned=True)
        st.dataframe(frame, hide_index=True, width="stretch", column_config=config or None, **kwargs)
        return
    shown = readable_table(frame, keep=frozenset(config))
    for raw in frame.columns:
        label = column_label(raw)
        if raw not in config and label in shown.columns and column_help(raw):
            config[label] = st.column_config.Column(label, help=column_help(raw))
    first = shown.columns[0] if len(shown.columns) else None
    if first is not None and first not in config and len(shown.columns) > 3:
        # the key column stays in view when a wide table scrolls sideways (1280 px screens)
        config[first] = st.column_config.Column(first, help=column_help(frame.columns[0]) or None, pinned=True)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config or None, **kwargs)


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def scorecard(root: str, pluralism_run: str) -> pd.DataFrame:
    return queries.scorecard(Workspace(root), pluralism_run)


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def cluster_coverage(root: str, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    return queries.cluster_coverage(
        Workspace(root), pluralism_run=pluralism_run, mapping_run=mapping_run, output_id=output_id
    )


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def unit_links(
    root: str,
    pluralism_run: str,
    mapping_run: str,
    output_id: str,
    *,
    clusters: tuple[int, ...] = (),
    contribution_ids: tuple[str, ...] | None = None,
    limit: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Links of one output's units, filtered and capped in DuckDB; and how many matched before the cap."""
    return queries.unit_links(
        Workspace(root),
        pluralism_run=pluralism_run,
        mapping_run=mapping_run,
        output_id=output_id,
        clusters=list(clusters) or None,
        contribution_ids=list(contribution_ids) if contribution_ids is not None else None,
        limit=limit,
    )


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def unit_positions(root: str, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    return queries.unit_positions(
        Workspace(root), pluralism_run=pluralism_run, mapping_run=mapping_run, output_id=output_id
    )


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def scored_table(root: str, run_id: str, table: str, output_id: str) -> pd.DataFrame:
    return queries.scored_table(Workspace(root), run_id, table, output_id=output_id)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~$:])")


def plain(text: object) -> str:
    """User text (ids, model names, labels) safe inside a markdown string: markdown characters escaped.

    Streamlit already escapes raw HTML in markdown, but would still render a user's ``![x](http://...)``
    as an image (a request to a foreign host), a link, or ``:material/...:`` and ``$...$``.
    """
    return _MARKDOWN.sub(r"\\\1", str(text))


def command(text: str) -> str:
    """A shell command for markdown: a code span (literal), unless a backtick would end it early."""
    return plain(text) if "`" in text else f"`{text}`"


def quote(text: str, *, caption: str | None = None) -> None:
    """Show a contribution as inert text: escaped, never parsed as markdown or HTML."""
    body = html.escape(text or "")
    note = f"<div style='color:#6b7280;font-size:0.8em'>{html.escape(caption)}</div>" if caption else ""
    st.html(
        "<blockquote style='border-left:3px solid #3b5bdb;margin:0.3em 0;padding:0.2em 0.8em;"
        f"white-space:pre-wrap'>{body}{note}</blockquote>"
    )


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def cluster_breakdown(root: str, debate_id: str, mapping_run: str, clusters: tuple[int, ...], by: str) -> pd.DataFrame:
    return queries.cluster_breakdown(
        Workspace(root), debate_id=debate_id, mapping_run=mapping_run, clusters=list(clusters), by=by
    )


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def contribution_texts(root: str, debate_id: str, ids: tuple[str, ...]) -> pd.DataFrame:
    return queries.contribution_texts(Workspace(root), debate_id=debate_id, contribution_ids=list(ids))


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def fidelity_by_model(root: str, fidelity_run: str) -> pd.DataFrame:
    return queries.fidelity_by_model(Workspace(root), fidelity_run)


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def review_list(root: str, fidelity_run: str, limit: int) -> pd.DataFrame:
    return queries.review_list(Workspace(root), fidelity_run=fidelity_run, limit=limit)


def highlighted(text: str, words: list[str], *, caption: str | None = None) -> None:
    """Text with flagged words marked; the text is escaped before any markup is added."""
    body = highlight_words(text, words)
    note = f"<div style='color:#6b7280;font-size:0.8em'>{html.escape(caption)}</div>" if caption else ""
    st.html(
        "<style>mark.flag{background:#ffe066;padding:0 2px;border-radius:2px}</style>"
        f"<div style='white-space:pre-wrap;line-height:1.5'>{body}</div>{note}"
    )


def author_input(container: Any = None, *, key: str) -> str:
    """The viewer's name, recorded with each note; typed once per session (kept under ``annotation_author``)."""
    place = container if container is not None else st
    name = place.text_input(
        "Your name (recorded with the note)",
        value=st.session_state.get("annotation_author", ""),
        max_chars=MAX_AUTHOR,
        key=key,
    )
    return name.strip()


def annotate(
    debate_id: str,
    target_type: str,
    target_id: str,
    *,
    key: str,
    run_id: str | None = None,
    output_id: str | None = None,
) -> None:
    """A small popover to flag ``target_id`` with a label and a note (stored in the workspace's state file),
    recording who wrote it and the output (summary, rewrite) it is about."""
    ws = workspace()
    with st.popover("Flag", icon=":material/flag:"), st.form(f"flag_{key}", clear_on_submit=True, border=False):
        label = st.selectbox("Label", LABELS, key=f"flag_label_{key}")
        note = st.text_area("Note", max_chars=MAX_NOTE, key=f"flag_note_{key}")
        author = author_input(key=f"flag_author_{key}")
        if st.form_submit_button("Save flag"):
            if not author:
                st.error("Give your name: every note records who wrote it.")
                return
            st.session_state["annotation_author"] = author
            add_annotation(
                ws.state_path,
                Annotation(
                    debate_id,
                    target_type,
                    str(target_id),
                    label,
                    note=note,
                    author=author,
                    run_id=run_id,
                    output_id=output_id,
                ),
            )
            st.toast("Flag saved")


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def output_quality(root: str, pluralism_run: str, output_id: str) -> dict:
    return queries.output_quality(Workspace(root), pluralism_run, output_id)


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def validation_checks(root: str, validation_run: str) -> pd.DataFrame:
    return queries.validation_checks(Workspace(root), validation_run)


@_or_error
@st.cache_data(show_spinner=False, max_entries=16)
def unfair_by_model(root: str, pluralism_runs: tuple[str, ...]) -> pd.DataFrame:
    return queries.unfair_by_model(Workspace(root), pluralism_runs)


def quality_badge(sel: Selection) -> None:
    """A visible warning when the selected summary is degenerate (its quality flags, each with its sentence)."""
    if not (sel.pluralism_run and sel.output_id):
        return
    quality = output_quality(sel.root, sel.pluralism_run, sel.output_id)
    flags = quality.get("quality_flags") or []
    if flags:
        notes = " ".join(quality.get("quality_notes") or [])
        st.warning(
            f"**Degenerate output** ({', '.join(f.replace('_', ' ') for f in flags)}): {plain(notes)} "
            "Its scores say what it carries, which is little; read them as a finding about the model.",
            icon="⚠️",
        )


def latest_run_id(sel: Selection, stage: str) -> str | None:
    """The newest run of ``stage`` for the selected debate (None without one)."""
    options = runs(sel.root, version(sel.ws), stage, sel.debate_id)
    return options[0]["run_id"] if options else None


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def verdict(root: str, pluralism_run: str, output_id: str) -> str:
    return queries.verdict(Workspace(root), pluralism_run, output_id)


def verdict_box(sel: Selection | None) -> None:
    """The finding for the selected summary, first on the page (written by :mod:`dembias.read.verdict`)."""
    if sel is None:
        return
    if not (sel.pluralism_run and sel.output_id):
        unscored_box(sel)
        return
    finding(verdict(sel.root, sel.pluralism_run, sel.output_id))


def unscored_box(sel: Selection) -> None:
    """The finding of a debate without a scored summary: what it holds, and where it is audited."""
    from dembias.read.page_findings import unscored_finding

    held = counts(sel.root, sel.debate_id, sel.mapping_run, None)
    finding(unscored_finding(sel.debate_id, held, has_fidelity=bool(sel.fidelity_run)))


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def summary_sentences(root: str, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    return queries.summary_sentences(
        Workspace(root), pluralism_run=pluralism_run, mapping_run=mapping_run, output_id=output_id
    )


def summary_text(sel: Selection | None, *, height: int = 420) -> None:
    """The selected summary's own text, sentence by sentence, each with its chips (dembias.read.verdict.sentence_chips).

    Every piece of user text (the sentence, topic labels) is escaped before any markup is added.
    """
    if sel is None or not (sel.pluralism_run and sel.mapping_run and sel.output_id):
        return
    frame = summary_sentences(sel.root, sel.pluralism_run, sel.mapping_run, sel.output_id)
    if frame.empty:
        st.caption("This scoring run holds no sentences for the selected summary.")
        return
    st.html(summary_html(frame, height=height))


def summary_html(frame: pd.DataFrame, *, height: int = 420) -> str:
    """HTML of a summary's sentences with their chips: the library's one renderer (dembias.read.report_html), also used
    by the one-page report; user text escaped."""
    return summary_sentences_html(frame, height=height)


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def interaction_runs(root: str, _version: tuple[float, int], debate_id: str) -> list[dict]:
    """Scored interactions runs of this debate, then of all debates (newest first)."""
    return [
        {"run_id": r.run_id, "debate_id": r.debate_id, "params": r.manifest.get("params", {})}
        for r in queries.interaction_runs(Workspace(root), debate_id)
    ]


# --------------------------------------------------------------------------------------------------
# spread across repeated samples (issue 21): a section of the Compare page


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def run_sample_spread(root: str, pluralism_run: str) -> pd.DataFrame:
    return queries.run_sample_spread(Workspace(root), pluralism_run)


def sample_spread_section(sel: Selection, pluralism_run: str) -> None:
    """Per model (and model x prompt): one metric's mean across repeated samples, its SD, range and t interval."""
    from dembias.read.explain import metric_title

    st.subheader("Spread across repeated samples")
    spread = run_sample_spread(sel.root, pluralism_run)
    if spread is None or spread.empty:
        st.info("This scoring run has no metric to show across samples.")
        return
    metrics = list(dict.fromkeys(spread["metric"]))
    default = metrics.index("survival") if "survival" in metrics else 0
    metric = st.selectbox(
        "Metric across samples", metrics, index=default, format_func=metric_title, key="w_spread_metric"
    )
    table = spread[spread["metric"] == metric].drop(columns=["metric"]).copy()
    prompts = table.dropna(subset=["prompt_id"]).groupby("model")["prompt_id"].nunique()
    single = set(prompts[prompts < 2].index)  # one prompt: its row would repeat the model's all-prompts row
    table = table[table["prompt_id"].isna() | ~table["model"].isin(single)]
    table["_per_prompt"] = table["prompt_id"].notna()  # each model's all-prompts row first, then its prompts
    table = table.sort_values(["model", "_per_prompt", "prompt_id"], kind="stable").drop(columns="_per_prompt")
    table["model"] = table["model"].map(model_label)
    table["prompt_id"] = table["prompt_id"].fillna("all prompts")
    table = table.rename(columns={"prompt_id": "prompt", "n_samples": "samples", "n_outputs": "outputs"})
    st.caption(
        "Each model's summaries generated several times with different seeds (`dembias generate --samples N "
        "--sample`). samples: the sampled runs (on the all-prompts row, every prompt's samples); mean: over them; "
        "sd: between them; low-high: 95% t interval of the mean. A low mean with a small sd is the model; a wide "
        "range is the luck of the draw. With one sample there is no spread to show; with under 5 the interval is "
        "very wide and may leave the metric's range (it says how little so few draws tell)."
    )
    labels = {"mean": "mean", "sd": "SD between samples", "min": "min", "max": "max"}
    labels |= {"low": "95% t interval: low", "high": "95% t interval: high"}
    shown = table.copy()
    for column in labels:  # one sample has no spread: "—", never an empty cell (the CSV keeps the numbers)
        shown[column] = ["—" if pd.isna(v) else f"{v:.3f}" for v in shown[column]]
    text_table(shown, column_config={c: st.column_config.TextColumn(label) for c, label in labels.items()})
    if int(table["samples"].max()) < 2:
        st.info("Every model here has a single sample: generate repeated samples to see the spread.")
    download(table, f"{sel.debate_id}-sample-spread")


# --- issue 17 items 4 and 6: one count, one vocabulary, links that say when they name nothing -----------------


def glossary() -> None:
    """The glossary (dembias.read.vocabulary.GLOSSARY, the text of docs/glossary.md), in the sidebar of every page."""
    from dembias.read.vocabulary import GLOSSARY

    with st.expander("Glossary", expanded=False):
        for term, text in GLOSSARY.items():
            st.markdown(f"**{plain(term)}** — {text}")


@_or_error
@st.cache_data(show_spinner=False, max_entries=16)
def debates_overview(root: str, _version: tuple[float, int]) -> pd.DataFrame:
    """Every debate with its counts (dembias.read.counts, the one count every page uses)."""
    from dembias.read.counts import debates_overview as overview

    return overview(Workspace(root))


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def counts(root: str, debate_id: str, mapping_run: str | None, pluralism_run: str | None) -> dict:
    """The selected debate's counts (dembias.read.counts.debate_counts) as a dictionary."""
    from dembias.read.counts import debate_counts

    return debate_counts(
        Workspace(root), debate_id=debate_id, mapping_run=mapping_run, pluralism_run=pluralism_run
    ).as_dict()


def finding(text: str | None) -> None:
    """A page's finding, first under its title (text written by the library: dembias.read.verdict, page_findings)."""
    if text:
        st.info("**Finding.** " + plain(text))


# ---- issue 18: each run's parameters next to its numbers (appended block)

_RUN_KINDS = {"mapping": "Opinion map", "pluralism": "Pluralism scoring", "fidelity": "Fidelity scoring"}


@st.cache_data(show_spinner=False, max_entries=64)
def run_parameter_tables(root: str, version: tuple[float, int], run_ids: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Parameter records of the selected runs (``version`` keys the cache), see dembias.read.run_parameters."""
    from dembias.read.run_parameters import run_parameter_records

    return run_parameter_records(Workspace(root), run_ids)


def run_parameters_expander(root: str, version: tuple[float, int], run_ids: tuple[str, ...]) -> None:
    """A collapsed "Run parameters" expander: how each selected run was made, and from which corpus version."""
    tables = run_parameter_tables(root, version, run_ids)
    if not tables:
        return
    with st.expander("Run parameters", expanded=False):
        st.caption(
            "How the runs behind these numbers were made: their parameters, the runs they read, and the "
            "version of the debate (a fingerprint of its texts, moderation and votes) they were computed from."
        )
        for run_id in run_ids:
            table = tables.get(run_id)
            if table is None:
                continue
            stage = table.loc[table["parameter"] == "stage", "value"].iloc[0]
            st.markdown(f"**{plain(_RUN_KINDS.get(stage, stage))}** · {plain(run_id)}")
            # a static key-value table (st.table renders markdown: every cell goes through plain())
            st.table(table.map(plain).set_index("section"), border="horizontal")


# ---- issue 17 item 7: the one-page audit report (dembias.read.report), built only when a viewer asks for it


@_or_error
def audit_report_html(root: str, debate_id: str, output_id: str, pluralism_run: str, fidelity_run: str | None) -> str:
    """The self-contained HTML audit report of one summary, from the selected runs."""
    from dembias.read.report import build_report, report_html

    report = build_report(
        Workspace(root),
        debate_id=debate_id,
        output_id=output_id,
        pluralism_run=pluralism_run,
        fidelity_run=fidelity_run,
    )
    return report_html(report)


@_or_error
def audit_report_pdf(root: str, debate_id: str, output_id: str, pluralism_run: str, fidelity_run: str | None) -> bytes:
    """The audit report printed to A4 PDF by headless Chromium."""
    from dembias.read.report import html_to_pdf

    return html_to_pdf(audit_report_html(root, debate_id, output_id, pluralism_run, fidelity_run))


# --- issue 17 (items 3 and 5): what a summary left out, one click from the scorecard, the map and the survival chart


@_or_error
@st.cache_data(show_spinner=False, max_entries=32)
def left_out_items(root: str, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    from dembias.read.left_out import left_out

    return left_out(Workspace(root), pluralism_run=pluralism_run, mapping_run=mapping_run, output_id=output_id)


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def left_out_page(
    root: str, debate_id: str, mapping_run: str, key: str, search: str, limit: int, offset: int
) -> tuple[pd.DataFrame, int]:
    """One page of a left-out item's contributions (dembias.read.left_out.left_out_contributions) and the total."""
    from dembias.read.left_out import left_out_contributions, parse_key

    kind, ident = parse_key(key)
    page = left_out_contributions(
        Workspace(root),
        debate_id=debate_id,
        mapping_run=mapping_run,
        kind=kind,
        ident=ident,
        search=search,
        limit=limit,
        offset=offset,
    )
    return page.rows, page.total


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def item_ids(root: str, mapping_run: str, key: str) -> tuple[str, ...]:
    from dembias.read.left_out import item_contribution_ids, parse_key

    kind, ident = parse_key(key)
    return tuple(item_contribution_ids(Workspace(root), mapping_run=mapping_run, kind=kind, ident=ident))


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def vote_rates(root: str, debate_id: str, mapping_run: str, ids: tuple[str, ...]) -> pd.DataFrame:
    from dembias.read.left_out import vote_rates as rates

    return rates(Workspace(root), debate_id=debate_id, mapping_run=mapping_run, contribution_ids=list(ids))


@_or_error
@st.cache_data(show_spinner=False, max_entries=64)
def slice_breakdown(root: str, debate_id: str, ids: tuple[str, ...], by: str) -> pd.DataFrame:
    from dembias.read.left_out import slice_breakdown as breakdown

    return breakdown(Workspace(root), debate_id=debate_id, contribution_ids=list(ids), by=by)


LEFT_OUT_PAGE = "pages/left_out.py"


def short_model(sel: Selection) -> str:
    """The selected summary's model in a few words (SmolLM2-135M-Instruct, Gemini), markdown-escaped."""
    model = (sel.output_label or "").split(" · ")[0]
    return plain(model_label(model)) if model else "selected"


def left_out_link(sel: Selection, label: str, *, item: str | None = None) -> None:
    """A one-click link to "What it left out" for the selected debate and summary (``item``: ``topic:N``/``group:N``)."""
    if not (sel.output_id and sel.pluralism_run and sel.mapping_run):
        return
    params = {"debate": sel.debate_id, "output": sel.output_id, "map": sel.mapping_run, "prun": sel.pluralism_run}
    if item:
        params["item"] = item
    st.page_link(LEFT_OUT_PAGE, label=label, query_params=params)


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


def summary_page(title: str) -> Selection:
    """Open a page about one scored summary: sidebar, title, the finding, the summary's name and quality badge.

    Stops the page (with what to run) when the debate has no summary, opinion map or pluralism scoring run.
    """
    sel = sidebar()
    if sel is None:
        st.stop()
    st.title(title)
    verdict_box(sel)
    if not (sel.output_id and sel.mapping_run and sel.pluralism_run):
        st.info("This view needs a summary, an opinion map and a pluralism scoring run (`dembias score pluralism`).")
        st.stop()
    st.caption(f"Summary: {plain(sel.output_label)}")
    quality_badge(sel)
    return sel
