"""JSON encoding/decoding and request validation, compared in-process (CPU time, no server).

    .venv/bin/python benchmarks/codecs.py

What the mock does per request besides routing: decode a body, validate it against the spec,
encode the answer. Measured on the mock's own payloads: a listQuotes page (20 quotes of 3 lines,
~14 KB) and one quote to encode, a createQuote body to decode and validate (the spec's request
schema, ``$ref``s inlined as the mock compiles them). Libraries not installed are reported as
such (``pip install msgspec fastjsonschema`` adds the alternatives; the mock itself needs neither).
Prints microseconds per call (best of 5 rounds) and the factor against the standard library.
"""

from __future__ import annotations

import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best_us(call: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def quote(n: int) -> dict[str, Any]:
    lines = [
        {
            "id": f"0a1df1ab-82f4-43e0-8c8c-b20ae8f7{n:04d}",
            "description": f"Consulting day {n}",
            "quantity": 2,
            "unitPrice": 125000,
            "discountBps": 0,
            "taxRateBps": 825,
            "amount": 250000,
            "taxAmount": 20625,
        }
        for _ in range(3)
    ]
    return {
        "id": f"017ede99-727c-4d56-83bc-d30f2025{n:04d}",
        "number": f"Q-{n:06d}",
        "customerId": "27ffae5d-cbf3-412d-9da0-77891241becc",
        "status": "sent",
        "currency": "USD",
        "issueDate": "2025-03-01",
        "validUntil": "2025-03-31",
        "lines": lines,
        "subtotal": 750000,
        "taxTotal": 61875,
        "total": 811875,
        "notes": "benchmark",
        "orderId": None,
        "createdAt": "2025-03-01T00:00:00Z",
        "updatedAt": "2025-03-01T00:00:00Z",
    }


def request_schema() -> Any:
    import yaml

    from mock_server.spec_schema import inline_refs

    document = yaml.safe_load((ROOT / "openapi" / "sales.yaml").read_text(encoding="utf-8"))
    operation = inline_refs(document)["paths"]["/api/sales/quotes"]["post"]
    return operation["requestBody"]["content"]["application/json"]["schema"]


def main() -> int:
    page = {"data": [quote(n) for n in range(20)], "page": 1, "pageSize": 20, "total": 1000}
    one = quote(1)
    body = {
        "customerId": "27ffae5d-cbf3-412d-9da0-77891241becc",
        "lines": [
            {"description": "Consulting day", "quantity": 2, "unitPrice": 125_000},
            {"description": "Licence seat", "quantity": 10, "unitPrice": 4_900, "discountBps": 1000},
            {"description": "Onboarding", "quantity": 1, "unitPrice": 50_000},
        ],
        "notes": "benchmark",
    }
    raw_body = json.dumps(body).encode()
    rows: list[tuple[str, str, float | None]] = []

    def add(task: str, name: str, make: Callable[[], Callable[[], Any]] | None, number: int) -> None:
        try:
            call = make() if make else None
        except ImportError:
            call = None
        rows.append((task, name, best_us(call, number) if call else None))

    compact = {"separators": (",", ":"), "ensure_ascii": False}
    for task, payload, number in (("encode listQuotes page (20 quotes)", page, 2000), ("encode one quote", one, 20000)):
        add(task, "json (stdlib)", lambda p=payload: lambda: json.dumps(p, **compact).encode(), number)
        add(task, "orjson (the mock)", lambda p=payload: _orjson_dumps(p), number)
        add(task, "msgspec", lambda p=payload: _msgspec_encode(p), number)
    task = "decode createQuote body"
    add(task, "json (stdlib)", lambda: lambda: json.loads(raw_body), 50000)
    add(task, "orjson (the mock)", lambda: _orjson_loads(raw_body), 50000)
    add(task, "msgspec", lambda: _msgspec_decode(raw_body), 50000)
    schema = request_schema()
    task = "validate createQuote body (spec schema)"
    add(task, "jsonschema (pure Python)", lambda: _jsonschema(schema, body), 2000)
    add(task, "jsonschema-rs (the mock)", lambda: _jsonschema_rs(schema, body), 20000)
    add(task, "fastjsonschema (generated Python)", lambda: _fastjsonschema(schema, body), 20000)

    print("| task | library | µs per call | vs the first row |\n|---|---|---|---|")
    first: dict[str, float] = {}
    for task, name, micros in rows:
        if micros is None:
            print(f"| {task} | {name} | not installed | |")
            continue
        base = first.setdefault(task, micros)
        factor = "1.0x" if micros == base else f"{base / micros:.1f}x faster"
        print(f"| {task} | {name} | {micros:.2f} | {factor} |")
    return 0


def _orjson_dumps(payload: Any) -> Callable[[], Any]:
    import orjson

    return lambda: orjson.dumps(payload)


def _orjson_loads(raw: bytes) -> Callable[[], Any]:
    import orjson

    return lambda: orjson.loads(raw)


def _msgspec_encode(payload: Any) -> Callable[[], Any]:
    import msgspec

    encoder = msgspec.json.Encoder()
    return lambda: encoder.encode(payload)


def _msgspec_decode(raw: bytes) -> Callable[[], Any]:
    import msgspec

    decoder = msgspec.json.Decoder()
    return lambda: decoder.decode(raw)


def _jsonschema(schema: Any, body: Any) -> Callable[[], Any]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return lambda: validator.is_valid(body)


def _jsonschema_rs(schema: Any, body: Any) -> Callable[[], Any]:
    import jsonschema_rs

    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return lambda: validator.is_valid(body)


def _fastjsonschema(schema: Any, body: Any) -> Callable[[], Any]:
    import fastjsonschema

    validate = fastjsonschema.compile(schema)
    return lambda: validate(body)


if __name__ == "__main__":
    raise SystemExit(main())
