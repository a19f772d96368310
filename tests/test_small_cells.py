import pandas as pd

from dembias.small_cells import withheld_quotes


def test_a_quote_is_withheld_when_either_of_its_cells_is_small():
    texts = pd.DataFrame(
        {
            "contribution_id": ["a", "b", "c", "d"],
            "country": ["FR", "LU", "FR", None],
            "language": ["fr", "fr", "lb", "fr"],
        }
    )
    breakdowns = {
        "country": pd.DataFrame({"value": ["FR", "LU", "unknown"], "suppressed": [False, True, True]}),
        "language": pd.DataFrame({"value": ["fr", "lb"], "suppressed": [False, True]}),
    }
    assert withheld_quotes(texts, breakdowns).tolist() == [False, True, True, True]
    assert withheld_quotes(texts, {"country": breakdowns["country"]}).tolist() == [False, True, False, True]
    assert withheld_quotes(texts, {}).tolist() == [False] * 4
