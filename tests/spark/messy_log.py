"""A log of two replicas with rotated files holding every kind of line that reading counts: good
events, duplicates, lines that are not JSON, fields missing or of the wrong type, impossible
values, blank lines, a "\\r\\n" line end and cut final lines. For comparing the Spark reader with
offline.logs.reading line for line."""

from __future__ import annotations

import json
from pathlib import Path

E = '{"message":"next","timestamp":1,"user":1,"track":2,"time":0.5,"latency":0.01'
ARMS = '"experiments":{"A":"C"}'

BAD_LINES = [
    E.replace('"user":1', '"user":1.0') + "," + ARMS + "}",
    E.replace('"user":1', '"user":"1"') + "," + ARMS + "}",
    E.replace('"user":1', '"user":true') + "," + ARMS + "}",
    E.replace('"user":1', '"user":99999999999999999999') + "," + ARMS + "}",
    E.replace('"time":0.5', '"time":NaN') + "," + ARMS + "}",
    E.replace('"time":0.5', '"time":1e400') + "," + ARMS + "}",
    E.replace('"time":0.5', '"time":"0.5"') + "," + ARMS + "}",
    E.replace('"timestamp":1', '"timestamp":1.5') + "," + ARMS + "}",
    E.replace('"timestamp":1', '"timestamp":01') + "," + ARMS + "}",
    E.replace('"message":"next"', '"message":null') + "," + ARMS + "}",
    E.replace('"message":"next"', '"message":5') + "," + ARMS + "}",
    E.replace('"message":"next"', '"message":"stop"') + "," + ARMS + "}",
    E.replace('"user":1', '"user":-3') + "," + ARMS + "}",
    E.replace('"track":2', '"track":-2') + "," + ARMS + "}",
    E.replace('"time":0.5', '"time":1.5') + "," + ARMS + "}",
    E.replace('"latency":0.01', '"latency":"a"') + "," + ARMS + "}",
    E + ',"experiments":[1]}',
    E + ',"experiments":"x"}',
    E + ',"experiments":5}',
    E + "}",
    E + "," + ARMS + ',"recommendation":-1}',
    E + "," + ARMS + "} x",
    E + "," + ARMS + '}{"a":1}',
    E + "," + ARMS + ", }",
    "{'message':'next'}",
    "[1,2]",
    "garbage",
    "   ",
]
# Usable, though odd: optional fields of the wrong type or null, a number of another form.
ODD_LINES = [
    E.replace('"time":0.5', '"time":1') + "," + ARMS + "}",
    E.replace('"time":0.5', '"time":-0.0') + "," + ARMS + "}",
    E.replace('"user":1', '"user":-0') + "," + ARMS + "}",
    E.replace('"message":"next"', '"message":"nex\\u0074"') + "," + ARMS + "}",
    E + ',"experiments":{"B":"T1","A":"C"}}',
    E + ',"experiments":{"A":1}}',
    E + ',"experiments":{}}',
    E + "," + ARMS + ',"recommender":5}',
    E + "," + ARMS + ',"recommendation":"a"}',
    E + "," + ARMS + ',"recommendation":null,"data_version":null}',
    "  " + E + "," + ARMS + "}  ",
    E + "," + ARMS + "}\r",
]


def good(number: int) -> str:
    event = {
        "message": "last" if number % 4 == 3 else "next",
        "timestamp": 1_700_000_000_000 + 1000 * number,
        "user": number % 7,
        "track": number % 11,
        "time": round(number % 10 / 10, 1),
        "latency": 0.001 * (number % 5),
        "experiments": {"A": ["C", "T1"][number % 2]},
        "recommender": "top",
    }
    return json.dumps(event)


def write_messy_log(folder: Path) -> Path:
    goods = [good(n) for n in range(60)]
    files = {
        "r0/events.jsonl.1": goods[:10] + BAD_LINES + goods[10:20] + ODD_LINES + goods[:5],
        "r0/events.jsonl": goods[20:30],
        "r1/events.jsonl.1": ODD_LINES + goods[30:40] + ["", "\r"] + BAD_LINES,
        "r1/events.jsonl": goods[40:60],
    }
    for name, lines in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    # Cut final lines: a copy of a live file mid-write; and a whole event without its newline.
    with open(folder / "r0/events.jsonl", "a") as file:
        file.write(goods[55][:40])
    with open(folder / "r1/events.jsonl", "a") as file:
        file.write(goods[58])
    return folder
