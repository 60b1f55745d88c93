"""Fill the README's API section with real requests and responses from a running server.

Usage: start the service (``make serve``), then ``python bench/readme_examples.py
[--url http://127.0.0.1:8000]``. Long arrays in the output are cut to their first values.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

import httpx

from training.data import synthetic_values

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- API-EXAMPLES -->"
END = "<!-- /API-EXAMPLES -->"


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    url = parser.parse_args().url
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
    with httpx.Client(base_url=url, timeout=60) as client:
        for method, path, shown_body, sent in calls:
            r = client.request(method, path, json=sent)
            command = f"curl -s {shlex.quote(url.replace('127.0.0.1', 'localhost') + path)}"
            if method == "POST":
                command = f"curl -s -X POST {command[8:]} -H 'content-type: application/json' -d '{shown_body}'"
            answer = r.json()
            if path == "/models":  # one model is enough to show the shape
                answer["models"] = [*answer["models"][:1], f"… {len(answer['models']) - 1} more"]
            out = json.dumps(_trim(answer), ensure_ascii=False)
            blocks.append(f"$ {command}\n# HTTP {r.status_code}\n{out}")
        r = client.post("/forecast/plot", json=body)
        blocks.append(
            f"$ curl -s -X POST {url.replace('127.0.0.1', 'localhost')}/forecast/plot -d '…same body…'"
            f" -o forecast.png\n# HTTP {r.status_code}, {r.headers['content-type']},"
            f" {len(r.content)} bytes"
        )
        metrics = [
            line for line in client.get("/metrics").text.splitlines()
            if line.startswith(("forecast_http_requests_total{", "forecast_model_versions{"))
        ][:6]  # fmt: skip
        blocks.append("$ curl -s localhost:8000/metrics | grep ^forecast_\n" + "\n".join(metrics))
    section = f"{MARKER}\n```console\n" + "\n\n".join(blocks) + f"\n```\n{END}"
    text = README.read_text()
    head, _, rest = text.partition(MARKER)
    tail = rest.split(END, 1)[1] if END in rest else rest
    README.write_text(head + section + tail)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
