"""dembias dashboard: entry point and overview page.

Run with ``streamlit run app.py`` (or ``make app``). Reads the workspace named by ``$DEMBIAS_WORKSPACE``
(default ``data/workspace``) read-only; pages query, plot with ``dembias.plots`` and render.
"""

from __future__ import annotations

import streamlit as st

from dembias.queries import debates_table, outputs_table, workspace_version
from dembias.store import Workspace

st.set_page_config(page_title="dembias", page_icon="⚖️", layout="wide")


def current_workspace() -> Workspace:
    """The workspace this dashboard serves ($DEMBIAS_WORKSPACE, else data/workspace)."""
    return Workspace.resolve()


@st.cache_data(show_spinner=False)
def cached_debates(root: str, version: tuple[float, int]):
    return debates_table(Workspace.resolve(root))


@st.cache_data(show_spinner=False)
def cached_outputs(root: str, version: tuple[float, int], debate_id: str):
    return outputs_table(Workspace.resolve(root), debate_id)


def overview() -> None:
    """Debates of the workspace with their counts, and the outputs to audit."""
    ws = current_workspace()
    st.title("dembias — democratic biases of language models in deliberation")
    st.caption(
        "Do minority opinions survive a model's summary? Does a rewrite or translation still say what its "
        "author said, equally well for every language and country?"
    )
    if not ws.exists():
        st.error(f"No workspace at {ws.root}. Build the demo with `dembias demo` or set DEMBIAS_WORKSPACE.")
        return
    version = workspace_version(ws)
    debates = cached_debates(str(ws.root), version)
    st.subheader(f"Debates ({len(debates)})")
    columns = {
        "debate_id": "Debate",
        "title": "Title",
        "language": "Language",
        "country": "Country",
        "n_contributions": "Contributions",
        "n_accepted": "Accepted",
        "n_participants": "Participants",
        "n_votes": "Votes",
        "n_groups": "Vote groups",
        "n_outputs": "Model outputs",
    }
    st.dataframe(debates[list(columns)].rename(columns=columns), hide_index=True, width="stretch")
    debate_id = st.selectbox("Debate", debates["debate_id"].tolist(), key="debate")
    if debate_id:
        outputs = cached_outputs(str(ws.root), version, debate_id)
        st.subheader("Model outputs to audit")
        if outputs.empty:
            st.info("No model outputs for this debate yet.")
        else:
            st.dataframe(outputs, hide_index=True, width="stretch")
    st.caption(f"Workspace: {ws.root}")


# Page files are named like their URL paths (see pages/shared.py, leave_pages_directory_mode).
navigation = st.navigation(
    [
        st.Page(overview, title="Overview", icon=":material/account_balance:", default=True),
        st.Page("pages/map.py", title="Opinion map", icon=":material/scatter_plot:"),
        st.Page("pages/survival.py", title="Cluster survival", icon=":material/bar_chart:"),
        st.Page("pages/minorities.py", title="Minorities", icon=":material/diversity_3:"),
    ]
)
navigation.run()
