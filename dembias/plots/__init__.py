"""Plot builders: functions that take small frames and return ``plotly.graph_objects.Figure``.

They never call streamlit; pages render what they return. User text reaches a figure only through
:func:`dembias.plots.style.safe_hover`, which escapes it.
"""

from dembias.plots.fidelity import fidelity_distribution_figure
from dembias.plots.interactions import interaction_pull_figure, interaction_rates_figure
from dembias.plots.opinion_map import opinion_map_figure
from dembias.plots.scorecard import metric_dots_figure
from dembias.plots.survival import survival_figure
from dembias.plots.vote_bars import vote_bars_figure

__all__ = [
    "fidelity_distribution_figure",
    "interaction_pull_figure",
    "interaction_rates_figure",
    "metric_dots_figure",
    "opinion_map_figure",
    "survival_figure",
    "vote_bars_figure",
]
