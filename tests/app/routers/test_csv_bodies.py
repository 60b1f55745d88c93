"""``text/csv`` bodies of POST /forecast and /backtest, through the real app and SavedModels.

A CSV answer is compared with the JSON answer for the same series: the CSV only fills the
JSON body, so they must be equal.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.app.support import TestClient, error_of
from training.data import DataError, load_csv

CSV = {"content-type": "text/csv"}


def _post_csv(client: TestClient, path: str, text: str, **query: Any) -> Any:
    return client.post(path, content=text.encode(), headers=CSV, params=query)


def _days(n: int) -> list[str]:
    return [(date(2024, 1, 1) + timedelta(days=i)).isoformat() for i in range(n)]


def _lines(rows: list[tuple[Any, ...]], header: str) -> str:
    return header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


def test_a_column_of_values_answers_as_the_json_list(
    shared_client: TestClient, series: np.ndarray
) -> None:
    values = series[:120].tolist()
    options: dict[str, Any] = {
        "model": "linear",
        "horizon": 5,
        "level": [80, 95],
        "quantiles": [0.9],
    }
    expected = shared_client.post("/forecast", json={**options, "series": values})
    assert expected.status_code == 200, expected.text

    text = _lines([(repr(v),) for v in values], "sales")  # one column: the values, any name
    r = _post_csv(shared_client, "/forecast", text, model="linear", horizon=5, level=[80, 95],
                  quantiles="0.9")  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json() == expected.json()
    # lists as a,b as well as repeated; a charset parameter is read
    again = shared_client.post(
        "/forecast",
        content=text.encode(),
        headers={"content-type": "text/csv; charset=utf-8"},
        params={"model": "linear", "horizon": 5, "level": "80,95", "quantiles": 0.9},
    )
    assert again.json() == expected.json()


def test_long_format_is_the_many_series_form_in_first_seen_order(
    shared_client: TestClient, series: np.ndarray
) -> None:
    parts = {"b": series[:100].tolist(), "a": series[40:130].tolist()}
    stamps = {k: _days(len(v)) for k, v in parts.items()}
    rows = [(k, stamps[k][i], repr(v[i])) for k, v in parts.items() for i in range(len(v))]
    # the ids' rows interleaved: grouped by id, b first since it comes first
    rows = sorted(rows, key=lambda r: (r[1], r[0] != "b"))
    r = _post_csv(shared_client, "/forecast", _lines(rows, "unique_id,ds,y"), model="gru",
                  horizon=3)  # fmt: skip
    assert r.status_code == 200, r.text

    items = [{"id": k, "values": v, "timestamps": stamps[k]} for k, v in parts.items()]
    expected = shared_client.post("/forecast", json={"model": "gru", "horizon": 3, "series": items})
    assert expected.status_code == 200, expected.text
    assert r.json() == expected.json()
    answers = r.json()["series"]
    assert [a["id"] for a in answers] == ["b", "a"]
    assert answers[0]["frequency"] == "daily"
    assert answers[0]["forecast"]["timestamps"] == [
        "2024-04-10T00:00:00",
        "2024-04-11T00:00:00",
        "2024-04-12T00:00:00",
    ]


def test_a_time_column_without_ids_is_one_series_named_after_its_values(
    shared_client: TestClient, series: np.ndarray
) -> None:
    values = series[:60].tolist()
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(60)]
    text = _lines(list(zip(values, months, strict=True)), "sales,month")
    r = _post_csv(shared_client, "/forecast", text, model="linear", horizon=2,
                  value_column="sales", time_column="month")  # fmt: skip
    assert r.status_code == 200, r.text
    (answer,) = r.json()["series"]
    assert (answer["id"], answer["frequency"]) == ("sales", "monthly")
    assert answer["forecast"]["timestamps"] == ["2005-01-01T00:00:00", "2005-02-01T00:00:00"]


def test_an_id_column_of_one_id_is_still_the_many_series_form(
    shared_client: TestClient, series: np.ndarray
) -> None:
    rows = [("only", repr(v)) for v in series[:50].tolist()]
    r = _post_csv(shared_client, "/forecast", _lines(rows, "unique_id,y"), model="linear")
    assert r.status_code == 200, r.text
    (answer,) = r.json()["series"]
    assert (answer["id"], answer["frequency"]) == ("only", None)
    assert answer["forecast"]["timestamps"] is None


@pytest.mark.parametrize(
    ("text", "query", "message", "details"),
    [
        ("", {}, "the CSV is empty", {"rows": 0}),
        ("ds,y\n\n", {}, "has a header (ds, y) but no rows", {"rows": 0}),
        ("ds,y\n2024-01-01,1\n", {"value_column": "sales"},
         "value_column: no column 'sales'; the columns are ds, y",
         {"column": "sales", "columns": ["ds", "y"]}),
        ("date,sales,price\n2024-01-01,1,2\n", {},
         "which column holds the values? name it with value_column; the columns are date, sales,"
         " price", {"columns": ["date", "sales", "price"]}),
        ("y\n1\n2\nabc\n", {}, "line 4: 'abc' in column 'y' is not a number",
         {"line": 4, "column": "y"}),
        ("y\n1\n\n2\n\n", {}, "line 3: no value in column 'y'", {"line": 3, "column": "y"}),
        ("ds,y\n2024-01-01,1\n2024-01-02,\n", {}, "line 3: no value in column 'y'",
         {"line": 3, "column": "y"}),
        ("y\n1\nnan\n", {}, "line 3: 'nan' in column 'y' is not a finite number",
         {"line": 3, "column": "y"}),
        ("unique_id,y\na,1\n,2\n", {}, "line 3: no id in column 'unique_id'",
         {"line": 3, "column": "unique_id"}),
        ("ds,y\n2024-01-01,1\n2024-01-02\n", {}, "line 3 has 1 fields but the header has 2",
         {"line": 3}),
        ("y,y\n1,2\n", {}, "the header names a column twice: y", None),
    ],
)  # fmt: skip
def test_what_the_rows_cannot_say_is_refused_by_line(
    shared_client: TestClient, text: str, query: dict[str, str], message: str, details: Any
) -> None:
    r = _post_csv(shared_client, "/forecast", text, model="linear", **query)
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["code"] == "invalid_request"
    assert message in error["message"]
    assert error["details"] == details


def test_the_trainer_and_the_server_name_the_same_line_of_a_file(
    shared_client: TestClient, tmp_path: Path
) -> None:
    text = "ds,y\n2024-01-02,2\n2024-01-01,1\n2024-01-03,n/a\n"
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as trained:
        load_csv(tmp_path / "d.csv", "y", time_column="ds")
    served = error_of(_post_csv(shared_client, "/forecast", text, model="linear"))["message"]
    assert str(trained.value).startswith("line 4: ")
    assert served.startswith("line 4: ")


def test_the_json_bodys_own_checks_say_the_rest(
    shared_client: TestClient, series: np.ndarray
) -> None:
    values = series[:40].tolist()
    stamps = _days(40)
    stamps[21] = stamps[20]
    rows = [("a", s, repr(v)) for s, v in zip(stamps, values, strict=True)]
    r = _post_csv(shared_client, "/forecast", _lines(rows, "unique_id,ds,y"), model="linear")
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["code"] == "validation_error"
    assert "duplicate time stamp 2024-01-21T00:00:00" in error["message"]
    del rows[21]  # now a day is missing
    error = error_of(
        _post_csv(shared_client, "/forecast", _lines(rows, "unique_id,ds,y"), model="linear")
    )
    assert "2024-01-23T00:00:00 follows 2024-01-21T00:00:00, but the usual step" in error["message"]
    assert error["message"].endswith("(in a CSV, the missing rows, or no time column)")
    assert "train" not in error["message"]  # the trainer's advice is not a client's

    text = _lines([(repr(v),) for v in values], "y")
    r = _post_csv(shared_client, "/forecast", text, model="linear", horizon=1001)
    error = error_of(r)
    assert (r.status_code, error["code"]) == (422, "validation_error")
    assert error["message"] == (
        "query parameter horizon 1001 is more than the 1000 this server allows"
        " (FORECAST_MAX_HORIZON)"
    )
    r = _post_csv(shared_client, "/forecast", text, model="linear", horizon="soon")
    assert error_of(r)["message"] == 'query parameter horizon: expected an integer, got "soon"'
    r = _post_csv(shared_client, "/forecast", text)
    assert error_of(r)["message"] == "query parameter model: required, but missing"
    r = _post_csv(shared_client, "/forecast", text, model="nope")
    assert (r.status_code, error_of(r)["code"]) == (404, "model_not_found")
    r = _post_csv(shared_client, "/forecast", "y\n1\n2\n", model="linear")
    assert (r.status_code, error_of(r)["code"]) == (422, "series_too_short")


def test_a_json_body_refuses_the_csv_query_parameters(
    shared_client: TestClient, series: np.ndarray
) -> None:
    body = {"model": "linear", "series": series[:40].tolist()}
    r = shared_client.post("/forecast", json=body, params={"horizon": 3, "value_column": "y"})
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["message"].startswith(
        "query parameters (horizon, value_column) go with a text/csv"
    )
    assert error["details"] == {"parameters": ["horizon", "value_column"]}


def test_the_picture_takes_a_csv_too(shared_client: TestClient, series: np.ndarray) -> None:
    text = _lines([(repr(v),) for v in series[:80].tolist()], "y")
    r = _post_csv(shared_client, "/forecast/plot", text, model="linear", horizon=4)
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\x89PNG")


def test_a_backtest_csv_answers_as_its_json(shared_client: TestClient, series: np.ndarray) -> None:
    values = series[:200].tolist()
    options: dict[str, Any] = {"model": "linear", "h": 5, "n_windows": 3, "step_size": 2}
    expected = shared_client.post("/backtest", json={**options, "series": values})
    assert expected.status_code == 200, expected.text
    rows = [("s", d, repr(v)) for d, v in zip(_days(200), values, strict=True)]
    text = _lines(rows, "unique_id,ds,y")  # the time column is not the backtest's: left alone
    r = _post_csv(shared_client, "/backtest", text, **options)
    assert r.status_code == 200, r.text
    assert r.json() == expected.json()

    rows = [(k, repr(v)) for k in "ab" for v in values[:50]]
    r = _post_csv(shared_client, "/backtest", _lines(rows, "unique_id,y"), **options)
    assert r.status_code == 422, r.text
    error = error_of(r)
    assert error["message"].startswith("a backtest takes one series, but the CSV holds 2 ids")
    assert error["details"] == {"ids": ["a", "b"], "count": 2}


def test_openapi_documents_both_media_types_and_the_query(shared_client: TestClient) -> None:
    paths = shared_client.get("/openapi.json").json()["paths"]
    for path, columns in (
        ("/forecast", {"value_column", "time_column", "id_column"}),
        ("/forecast/plot", {"value_column", "time_column", "id_column"}),
        ("/backtest", {"value_column", "id_column"}),
    ):
        operation = paths[path]["post"]
        content = operation["requestBody"]["content"]
        assert set(content) == {"application/json", "text/csv"}
        assert content["text/csv"]["schema"] == {"type": "string"}
        query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert columns <= set(query)
        assert "series" not in query
    horizon = {p["name"]: p for p in paths["/forecast"]["post"]["parameters"]}["horizon"]
    assert (horizon["schema"]["type"], horizon["schema"]["maximum"]) == ("integer", 1000)


@pytest.mark.parametrize("path", ["/forecast", "/forecast/plot", "/backtest"])
@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None],
)
def test_a_body_neither_json_nor_csv_is_told_what_to_send(
    shared_client: TestClient, path: str, content_type: str | None
) -> None:
    """curl -d without -H sends a form's type: the answer says so, not a 422 about the body."""
    body = b'{"model": "linear", "series": [1, 2, 3], "h": 1}'
    headers = {} if content_type is None else {"content-type": content_type}
    r = shared_client.post(path, content=body, headers=headers)
    assert r.status_code == 415, r.text
    error = error_of(r)
    assert error["code"] == "unsupported_media_type"
    assert "send application/json or text/csv" in error["message"]
    assert (content_type or "missing").split(";")[0] in error["message"]


def test_a_json_media_type_with_parameters_is_json(shared_client: TestClient) -> None:
    r = shared_client.post(
        "/forecast",
        content=b'{"model": "linear", "series": [' + b"1.0," * 40 + b"1.0]}",
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200, r.text
