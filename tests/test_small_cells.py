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


def test_one_small_cell_test_counts_authors_where_known():
    from dembias.small_cells import small_cells

    n = pd.Series([9, 9, 4, 5])
    authors = pd.Series([4, 0, 0, 5])  # 0: authors unknown, so contributions count
    assert small_cells(n, authors).tolist() == [True, False, True, False]
    assert small_cells(n, authors, min_cell=10).tolist() == [True, True, True, True]
    assert small_cells(pd.Series([3, 12])).tolist() == [True, False]


def test_quotes_keep_their_text_and_lose_a_rare_country_and_language():
    from dembias.small_cells import public_attributes, withheld_label

    cells = pd.DataFrame(
        {"country": ["FR", "LU", "unknown"], "language": ["fr", "lb", "fr"], "n": [40, 2, 7], "n_authors": [30, 2, 0]}
    )
    texts = pd.DataFrame(
        {"text": ["a", "b", "c", "d"], "country": ["FR", "LU", None, "FR"], "language": ["fr", "lb", "fr", "lb"]},
        index=[10, 11, 12, 13],
    )
    out = public_attributes(texts, cells)
    hidden = withheld_label()
    assert hidden == "withheld (fewer than 5 contributors)"
    assert out["text"].tolist() == ["a", "b", "c", "d"] and list(out.index) == [10, 11, 12, 13]
    # (FR, lb) is no counted cell of the debate (e.g. a rejected contribution's): withheld too
    assert out.loc[[10, 11, 13], ["country", "language"]].values.tolist() == [["FR", "fr"], [hidden] * 2, [hidden] * 2]
    assert pd.isna(out.loc[12, "country"]) and out.loc[12, "language"] == "fr"  # 'unknown' has 7 contributions
    stricter = public_attributes(texts, cells, min_cell=8)  # 'unknown'/fr has 7 contributions, no known authors
    assert stricter.loc[12, "country"] == "withheld (fewer than 8 contributors)"
