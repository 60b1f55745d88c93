"""Fill the README's API examples with real requests and responses from a running server, or
check that the README still shows what the server answers.

Usage: start the service (``make serve``), then ``python bench/readme_examples.py
[--url http://127.0.0.1:8000] [--only csv timeseries] [--check]``. Each section sits between
``<!-- NAME -->`` and ``<!-- /NAME -->`` in the README; ``--only`` refills just those named
(the CSV and time-series ones need only ``synthetic-linear``). Long arrays in the output are cut
to their first values.

``--check`` writes nothing: it runs every command of the sections again and exits 1 naming each
block whose command, status or answer's shape (its keys, nested, and the kinds of its values:
numbers may differ from one training run to the next) differs from the README's.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shlex
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from training.data import synthetic_values

README = Path(__file__).resolve().parent.parent / "README.md"


def _trim(value: Any, keep: int = 3) -> Any:
    if isinstance(value, list):
        if len(value) > keep + 1 and all(not isinstance(v, (list, dict)) for v in value):
            return [*(_trim(v) for v in value[:keep]), f"… {len(value) - keep} more"]
        return [_trim(v, keep) for v in value]
    if isinstance(value, dict):
        return {k: _trim(v, keep) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, 3)
    return value


def _shown_url(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def _block(command: str, r: httpx.Response, answer: Any = None, cut: str = "") -> str:
    shown = _trim(r.json() if answer is None else answer)
    status = f"# HTTP {r.status_code}" + (f" ({cut} left out here)" if cut else "")
    return f"$ {command}\n{status}\n{json.dumps(shown, ensure_ascii=False)}"


def api_examples(client: httpx.Client, url: str) -> list[str]:
    """Every route of the service's own API, on the default store."""
    series = [round(v, 2) for v in synthetic_values()[:1000].tolist()]
    actuals = [round(v, 2) for v in synthetic_values()[1000:1007].tolist()]
    shown = "[" + ", ".join(map(str, series[:3])) + ", …1000 values]"
    body = {"model": "synthetic-wavenet", "series": series, "horizon": 7, "level": [80, 95],
            "actuals": actuals}  # fmt: skip
    short = (
        f'{{"model": "synthetic-wavenet", "series": {shown}, "horizon": 7, "level": [80, 95],'
        f' "actuals": [{", ".join(map(str, actuals[:2]))}, …7 values]}}'
    )
    calls: list[tuple[str, str, str, Any]] = [
        ("GET", "/health", "", None),
        ("GET", "/ready", "", None),
        ("GET", "/models", "", None),
        ("GET", "/models/synthetic-linear", "", None),
        ("GET", "/models/synthetic-linear/versions/1", "", None),
        ("POST", "/forecast", short, body),
        ("GET", "/v1/models/synthetic-wavenet", "", None),
        ("POST", "/v1/models/synthetic-linear:predict",
         '{"instances": [[…400 values…]]}', {"instances": [series[-400:]]}),
        ("POST", "/forecast", '{"model": "synthetic-wavenet", "series": [1, 2, 3]}',
         {"model": "synthetic-wavenet", "series": [1, 2, 3]}),
        ("POST", "/forecast", '{"model": "nope", "series": [1, 2, 3]}',
         {"model": "nope", "series": [1, 2, 3]}),
    ]  # fmt: skip
    blocks = []
    for method, path, shown_body, sent in calls:
        r = client.request(method, path, json=sent)
        command = f"curl -s {shlex.quote(_shown_url(url) + path)}"
        if method == "POST":
            command = f"curl -s -X POST {command[8:]} -H 'content-type: application/json' -d '{shown_body}'"
        answer = r.json()
        if path == "/models":  # one model is enough to show the shape
            answer["models"] = [*answer["models"][:1], f"… {len(answer['models']) - 1} more"]
        blocks.append(_block(command, r, answer))
    r = client.post("/forecast/plot", json=body)
    blocks.append(
        f"$ curl -s -X POST {_shown_url(url)}/forecast/plot -H 'content-type: application/json' -d '…same body…'"
        f" -o forecast.png\n# HTTP {r.status_code}, {r.headers['content-type']},"
        f" {len(r.content)} bytes"
    )
    metrics = [
        line for line in client.get("/metrics").text.splitlines()
        if line.startswith(("forecast_http_requests_total{", "forecast_model_versions{"))
    ][:6]  # fmt: skip
    blocks.append("$ curl -s localhost:8000/metrics | grep ^forecast_\n" + "\n".join(metrics))
    return blocks


def _csv(rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _post_csv(
    client: httpx.Client, url: str, path: str, file: str, text: str
) -> tuple[str, httpx.Response]:
    r = client.post(path, content=text.encode(), headers={"content-type": "text/csv"})
    command = (
        f"curl -s -X POST {shlex.quote(_shown_url(url) + path)} -H 'content-type: text/csv'"
        f" --data-binary @{file}"
    )
    return command, r


def csv_examples(client: httpx.Client, url: str) -> list[str]:
    """``text/csv`` bodies of POST /forecast and /backtest: long format, and what is refused."""
    values = [round(v, 2) for v in synthetic_values()[:1000].tolist()]
    days = [(date(2021, 1, 1) + timedelta(days=i)).isoformat() for i in range(500)]
    rows = [("unique_id", "ds", "y")] + [
        (key, day, v) for key, part in (("north", values[:500]), ("south", values[500:]))
        for day, v in zip(days, part, strict=True)
    ]  # fmt: skip
    sales = _csv(rows)
    head = "\n".join(sales.splitlines()[:3])
    blocks = [f"$ head -3 sales.csv   # 1000 rows: ids north and south, 500 days each\n{head}"]
    query = "?model=synthetic-linear&horizon=3&quantiles=0.1,0.9&baselines=naive"
    command, r = _post_csv(client, url, "/forecast" + query, "sales.csv", sales)
    answer = r.json()
    for series in answer.get("series", []):  # the forecasts and the scores are the point here
        series.pop("model", None)
        series.pop("windowed", None)
        for baseline in series["baselines"].values():
            baseline.pop("windowed", None)
        series["metrics"] = {"windowed": series["metrics"]["windowed"]["scores"]}
    blocks.append(_block(command, r, answer, "model, windowed forecasts, scored positions"))

    north = _csv([("ds", "y"), *zip(days, values[:500], strict=True)])
    command, r = _post_csv(
        client, url, "/backtest?model=synthetic-linear&h=7&n_windows=3&baselines=naive",
        "north.csv", north,
    )  # fmt: skip
    answer = r.json()
    answer.pop("model", None)
    answer["metrics"] = {"overall": answer["metrics"]["overall"]}
    blocks.append(_block(command, r, answer, "model, metrics by step"))

    command, r = _post_csv(
        client, url, "/forecast?model=synthetic-linear&value_column=sales", "sales.csv", sales
    )
    blocks.append(_block(command, r))
    broken = sales.replace("north,2021-01-03,53.31", "north,2021-01-03,n/a")
    command, r = _post_csv(client, url, "/forecast?model=synthetic-linear", "broken.csv", broken)
    blocks.append(_block(command, r))
    return blocks


def timeseries_examples(client: httpx.Client, url: str) -> list[str]:
    """KServe's time-series API: the models, a forecast, an error in KServe's shape."""
    values = [round(v, 2) for v in synthetic_values()[:1000].tolist()]
    blocks = []
    r = client.get("/v1/timeseries/models")
    blocks.append(_block(f"curl -s {_shown_url(url)}/v1/timeseries/models", r))
    series = {"type": "univariate_time_series", "name": "north", "frequency": "D",
              "start_timestamp": "2021-01-01T00:00:00Z"}  # fmt: skip
    body = {"model": "synthetic-linear", "inputs": [{**series, "series": values}],
            "options": {"horizon": 3, "quantiles": [0.1, 0.9]}}  # fmt: skip
    shown = json.dumps({**body, "inputs": [{**series, "series": "…"}]}, ensure_ascii=False)
    shown = shown.replace('"…"', f"[{', '.join(map(str, values[:3]))}, …1000 values]")
    path = f"{_shown_url(url)}/v1/timeseries/forecast"
    r = client.post("/v1/timeseries/forecast", json=body)
    blocks.append(_block(f"curl -s -X POST {path} -d '{shown}'", r))
    refused = {**body, "inputs": [{**series, "frequency": "S", "series": values}]}
    shown = shown.replace('"frequency": "D"', '"frequency": "S"')
    r = client.post("/v1/timeseries/forecast", json=refused)
    blocks.append(_block(f"curl -s -X POST {path} -d '{shown}'", r))
    return blocks


SECTIONS: dict[str, tuple[str, Callable[[httpx.Client, str], list[str]]]] = {
    "api": ("API-EXAMPLES", api_examples),
    "csv": ("CSV-EXAMPLES", csv_examples),
    "timeseries": ("TIMESERIES-EXAMPLES", timeseries_examples),
}


def _fill(text: str, name: str, blocks: list[str]) -> str:
    """``text`` with the section between ``<!-- name -->`` and ``<!-- /name -->`` replaced."""
    marker, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    head, found, rest = text.partition(marker)
    if not found:
        raise SystemExit(f"README.md has no {marker}")
    tail = rest.split(end, 1)[1] if end in rest else rest
    return head + f"{marker}\n```console\n" + "\n\n".join(blocks) + f"\n```\n{end}" + tail


def _shown_blocks(text: str, name: str) -> list[str]:
    """The blocks the README shows between ``<!-- name -->`` and ``<!-- /name -->``."""
    inside = text.split(f"<!-- {name} -->", 1)[1].split(f"<!-- /{name} -->", 1)[0]
    body = inside.strip().removeprefix("```console").removesuffix("```").strip()
    return body.split("\n\n$ ")


def shape(value: Any) -> Any:
    """What a JSON value looks like: keys kept, values replaced by their kind; a list by the
    shape of its first item (the README cuts long lists)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return value if value is None else "bool"
    return "number" if isinstance(value, (int, float)) else "str"


def _parts(block: str) -> tuple[str, str, Any]:
    """A block's command, status line and parsed answer (None when it is not JSON)."""
    command, _, rest = block.removeprefix("$ ").partition("\n")
    status, _, answer = rest.partition("\n")
    try:
        return command, status, shape(json.loads(answer))
    except json.JSONDecodeError:
        return command, status, answer if status.startswith("# HTTP") else None


def differences(shown: list[str], fresh: list[str]) -> list[str]:
    """What differs between the README's blocks and the server's, one line each."""
    if len(shown) != len(fresh):
        return [f"the README shows {len(shown)} blocks, the server's answers make {len(fresh)}"]
    out = []
    for i, (old, new) in enumerate(zip(shown, fresh, strict=True), 1):
        (c0, s0, a0), (c1, s1, a1) = _parts(old), _parts(new)
        what = c0[:80]
        if c0 != c1:
            out.append(f"block {i}: the command differs: README {c0[:80]!r}, now {c1[:80]!r}")
        elif s0.split(",")[0] != s1.split(",")[0]:
            out.append(f"block {i} ({what}): status {s0!r} in the README, {s1!r} now")
        elif a0 != a1:
            out.append(f"block {i} ({what}): the answer's shape differs from the README's")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), default=sorted(SECTIONS))
    parser.add_argument(
        "--check", action="store_true", help="compare with the README instead of writing it"
    )
    args = parser.parse_args()
    text = README.read_text()
    problems = []
    with httpx.Client(base_url=args.url, timeout=60) as client:
        for key in args.only:
            name, examples = SECTIONS[key]
            blocks = examples(client, args.url)
            if args.check:
                found = differences(_shown_blocks(text, name), blocks)
                problems += [f"{name}: {line}" for line in found]
                continue
            text = _fill(text, name, blocks)
            print("\n\n".join(blocks))
    if args.check:
        print("\n".join(problems) or "every README example answers as shown")
        return 1 if problems else 0
    README.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
