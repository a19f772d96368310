"""The widgets pages are made of: charts, tables, CSV downloads, quoted contributions, pickers whose value lives in
the URL, the annotation popover and the link to "What it left out"."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from dembias.plots.style import figure_file_name, with_title
from dembias.read.export import to_csv_bytes
from dembias.read.highlight import highlight_words
from dembias.read.verdict import model_label
from dembias.read.vocabulary import column_help, column_label, readable_table
from dembias.workspace.annotations import LABELS, MAX_AUTHOR, MAX_NOTE, Annotation, add_annotation
from pages.ui.state import Selection, kept, link_notices, remember, set_params, workspace
from pages.ui.text import plain

FIGURE_FORMATS = ["png", "svg"]


# WebGL canvases (the opinion map) are drawn at this many pixels per CSS pixel. Plotly's default, 2, supersamples
# four times the pixels: in Chromium without a GPU that doubled the map's draw time (0.61 s -> 0.33 s at 5,000
# points, benchmarks/webgl.py); on a high-DPI screen 1 makes the dots slightly softer. SVG charts ignore it.
GL_PIXEL_RATIO = 1


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


def choice(label: str, options: list[str], *, key: str, horizontal: bool = True, **kwargs) -> str:
    """A radio whose value lives in the URL under ``key``."""
    return url_widget(st.radio, label, options, key=key, horizontal=horizontal, **kwargs)


def url_widget(widget: Any, label: str, options: list[str], *, key: str, **kwargs: Any) -> str:
    """``widget`` (st.radio, st.select_slider, ...) over ``options``, its value kept in the session and the URL."""
    value = kept(key, widget(label, options, key=remember(key, options), **kwargs))
    set_params(**{key: value})
    link_notices()
    return value


def url_select(
    label: str, options: list[str], *, key: str, default: str | None = None, container: Any = None, **kwargs: Any
) -> str:
    """A selectbox (in ``container``, default the page) whose value lives in the session and the URL under ``key``."""
    place = container if container is not None else st
    value = kept(key, place.selectbox(label, options, key=remember(key, options, default), **kwargs))
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


def text_table(frame: pd.DataFrame | Styler, *, column_config: dict | None = None, **kwargs) -> None:
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


def quote(text: str, *, caption: str | None = None) -> None:
    """Show a contribution as inert text: escaped, never parsed as markdown or HTML."""
    body = html.escape(text or "")
    note = f"<div style='color:#6b7280;font-size:0.8em'>{html.escape(caption)}</div>" if caption else ""
    st.html(
        "<blockquote style='border-left:3px solid #3b5bdb;margin:0.3em 0;padding:0.2em 0.8em;"
        f"white-space:pre-wrap'>{body}{note}</blockquote>"
    )


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
