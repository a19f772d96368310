"""What a reader sees of a scored interactions run: the JSON view (CLI) and the verdict sentence (dashboard)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dembias.fidelity.metrics import STANCE_FLAG_KINDS
from dembias.workspace.runs import RunInfo


def interactions_json(info: RunInfo, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The JSON view of a scored interactions run (``dembias score interactions --json``)."""

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

    return {
        "run_id": info.run_id,
        "debate_id": info.debate_id,
        "params": info.manifest.get("params", {}),
        "rates": records(tables["rates"]),
        "pull": records(tables["pull"]),
        "flagged": records(tables["flagged"]),
    }


def interaction_verdict(rates: pd.DataFrame, pull: pd.DataFrame, flagged: pd.DataFrame, *, simulated: bool) -> str:
    """The plain-language sentence on top of the Interactions page (numbers with their 95% intervals)."""
    everyone = rates[rates["dimension"] == "all"].iloc[0]
    if bool(everyone["suppressed"]):
        return f"Not enough interactions to report: {int(everyone['n_contributors'])} contributors."
    text = (
        f"Citizens accepted {everyone['acceptance_rate']:.0%} of {int(everyone['n'])} suggestions "
        f"(95% interval {everyone['acceptance_low']:.0%}–{everyone['acceptance_high']:.0%}), edited "
        f"{everyone['edit_rate']:.0%} and rejected {everyone['rejection_rate']:.0%}."
    )
    chars = pull[(pull["metric"] == "pull_chars") & (pull["dimension"] == "all")]
    if not chars.empty and pd.notna(chars.iloc[0]["mean"]):
        row = chars.iloc[0]
        text += (
            f" On average the final text moved {row['mean']:.0%} of the way from the draft to the suggestion "
            f"({row['low']:.0%}–{row['high']:.0%})."
        )
    groups = pull[
        (pull["metric"] == "pull_chars")
        & ~pull["dimension"].isin(["all"])
        & pull["difference_low"].notna()
        & ((pull["difference_low"] > 0) | (pull["difference_high"] < 0))
    ]
    if groups.empty:
        text += " No group's pull differs from the others' beyond its interval."
    else:
        top = groups.reindex(groups["difference"].abs().sort_values(ascending=False).index).iloc[0]
        direction = "more" if top["difference"] > 0 else "less"
        text += (
            f" The pull is {direction} for {top['dimension'].replace('_', ' ')} {top['value']} "
            f"({top['difference']:+.2f}, {top['difference_low']:+.2f} to {top['difference_high']:+.2f})."
        )
    if len(flagged):
        stance = flagged[[any(k in STANCE_FLAG_KINDS for k in kinds) for kinds in flagged["flag_kinds"]]]
        kept = int((~flagged["undone"].astype(bool)).sum())
        text += (
            f" {len(flagged)} suggestions were flagged by the fidelity audit ({len(stance)} for stance); "
            f"citizens kept the flagged change in {kept} of them."
        )
    if simulated:
        text += " Outcomes are simulated, to demonstrate the method."
    return text
