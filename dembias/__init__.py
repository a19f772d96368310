"""dembias: measure democratic biases of language models in deliberation.

Stages are modules of plain functions: :mod:`dembias.ingest` (readers), :mod:`dembias.workspace.store`
(workspace, corpus and run files), and the derived stages that write runs. dembias never imports
streamlit; the dashboard lives in ``app.py`` and ``pages/``.
"""

__version__ = "0.1.0"
