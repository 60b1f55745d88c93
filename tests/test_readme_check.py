"""``bench/readme_examples.py --check``: a README block that no longer answers as shown is named."""

from __future__ import annotations

import json

from bench.readme_examples import differences, shape


def _block(status: int, answer: object, command: str = "curl -s localhost:8000/models") -> str:
    return f"$ {command}\n# HTTP {status}\n{json.dumps(answer)}"


def test_same_shape_with_other_numbers_passes() -> None:
    shown = [_block(200, {"values": [1.5, 2.0, "… 5 more"], "best": "naive"})]
    fresh = [_block(200, {"values": [1.7, 2.1, "… 5 more"], "best": "seasonal_naive"})]
    assert differences(shown, fresh) == []


def test_a_changed_status_key_or_command_is_named() -> None:
    shown = [_block(200, {"values": [1.0]}), _block(200, {"a": 1}), _block(422, {"error": {}})]
    fresh = [
        _block(422, {"values": [1.0]}),
        _block(200, {"a": 1, "b": None}),
        _block(422, {"error": {}}, "curl -s localhost:8000/ready"),
    ]
    found = differences(shown, fresh)
    assert len(found) == 3
    assert "status '# HTTP 200' in the README, '# HTTP 422' now" in found[0]
    assert "the answer's shape differs" in found[1]
    assert "the command differs" in found[2]
    assert differences(shown, fresh[:2]) == [
        "the README shows 3 blocks, the server's answers make 2"
    ]


def test_shape_keeps_keys_and_kinds() -> None:
    assert shape({"a": [1, 2], "b": None, "c": True, "d": "x"}) == {
        "a": ["number"], "b": None, "c": "bool", "d": "str"
    }  # fmt: skip
