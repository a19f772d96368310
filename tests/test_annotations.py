"""Annotations in the dashboard's state file: add, list, delete, validation."""

from __future__ import annotations

import pytest

from dembias.workspace.annotations import Annotation, add_annotation, delete_annotation, list_annotations


def test_add_list_delete(tmp_path):
    state = tmp_path / "state.duckdb"
    assert list_annotations(state).empty
    first = add_annotation(
        state, Annotation("bg", "contribution", "42", "dropped minority", note="<b>not</b> in summary")
    )
    add_annotation(state, Annotation("other", "cluster", "3", "misrepresented"))
    mine = list_annotations(state, debate_id="bg")
    assert mine[["annotation_id", "target_type", "target_id", "label", "note"]].values.tolist() == [
        [first, "contribution", "42", "dropped minority", "<b>not</b> in summary"]
    ]
    assert len(list_annotations(state)) == 2
    assert delete_annotation(state, first) is True
    assert delete_annotation(state, first) is False
    assert list_annotations(state, debate_id="bg").empty


@pytest.mark.parametrize(
    "bad",
    [
        Annotation("bg", "comment", "1", "other"),
        Annotation("bg", "contribution", "1", "spam"),
        Annotation("bg", "contribution", " ", "other"),
        Annotation("bg", "contribution", "1", "other", note="x" * 5001),
    ],
)
def test_invalid_annotations_are_refused_and_nothing_is_written(tmp_path, bad):
    state = tmp_path / "state.duckdb"
    with pytest.raises(ValueError):
        add_annotation(state, bad)
    assert list_annotations(state).empty
