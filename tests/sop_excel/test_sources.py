import pytest

from sop_excel.errors import InputError
from sop_excel.sources import read_actuals_csv


def write(tmp_path, text, name="actuals.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_columns_in_any_order_and_case(tmp_path):
    p = write(tmp_path, "Item,Shipments,DATE,orders\nA,1,2026-11-19,2\nB,,2026-11-19,3\n")
    f = read_actuals_csv(p, known_items={"A", "B"})
    assert list(f.columns) == ["date", "item", "orders", "shipments"]
    assert f["orders"].tolist() == [2.0, 3.0]
    assert f["shipments"].tolist() == [1.0, 0.0]


def test_missing_column_names_file_and_found_columns(tmp_path):
    p = write(tmp_path, "date,item,orders\n2026-11-19,A,1\n")
    with pytest.raises(
        InputError,
        match=r"File actuals.csv, row 1 \(header\): missing column "
        r"'shipments'; found 'date', 'item', 'orders'",
    ):
        read_actuals_csv(p)


def test_text_in_quantity_names_row_and_column(tmp_path):
    p = write(tmp_path, "date,item,orders,shipments\n2026-11-19,A,1,1\n2026-11-19,B,twelve,1\n")
    with pytest.raises(InputError) as exc:
        read_actuals_csv(p)
    assert "File actuals.csv, row 3, column 'orders': 'twelve' is not a number" in str(exc.value)


def test_all_problems_at_once(tmp_path):
    p = write(
        tmp_path,
        "date,item,orders,shipments\nyesterday,A,1,1\n2026-11-19,ZZZ,-1,1\n"
        "2026-11-19,A,1,1\n2026-11-19,A,2,2\n",
    )
    with pytest.raises(InputError) as exc:
        read_actuals_csv(p, known_items={"A"})
    text = str(exc.value)
    assert "row 2, column 'date': 'yesterday' is not a date" in text
    assert "row 3, column 'item': 'ZZZ' is not an item on the Items sheet" in text
    assert "row 3, column 'orders': '-1' is negative" in text
    assert "row 5: repeats item A on 2026-11-19" in text
    assert len(exc.value.problems) == 4


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(InputError, match="is empty"):
        read_actuals_csv(write(tmp_path, ""))
    with pytest.raises(InputError, match="no rows"):
        read_actuals_csv(write(tmp_path, "date,item,orders,shipments\n"))
