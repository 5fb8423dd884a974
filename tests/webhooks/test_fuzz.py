"""Fuzz: ten thousand signed mutations of the seed's examples against a real ``zrmon serve``.

Every body is correctly signed, so each one reaches the parser, the bounds and
the schemas, which is where a hostile or broken body could hurt. The answers
must all be 4xx or 200 with a JSON body, within Zoom's 3 seconds, on
connections that stay up; no gunicorn worker may die or be replaced; and
afterwards an ordinary event still lands in InfluxDB. The mutation RNG is
seeded, so a failure names a body that can be made again.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from support.events import alert_event, encode, sensor_event, signed_headers
from support.processes import Service, descendants, wait_for

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port
from monitor.webhooks.catalog import load_catalog

pytestmark = pytest.mark.slow

SEED = 9_2026
COUNT = 10_000
THREADS = 4
ZOOM_BUDGET_S = 3.0
ANSWERS = {200, 400, 401, 413, 422}

Path_ = list[str | int]


def base_events() -> list[dict[str, Any]]:
    """The seed's example of every event (named, as Zoom sends them) and two real-looking ones."""
    bases = []
    for name, spec in sorted(load_catalog()["events"].items()):
        example = copy.deepcopy(spec["example"])
        example["event"] = name
        bases.append(example)
    return [*bases, sensor_event(), alert_event(1, 1793527200)]


def paths(value: Any, prefix: Path_ | None = None) -> list[Path_]:
    """Every place in a JSON value, containers and leaves, root excluded."""
    found: list[Path_] = []
    stack: list[tuple[Any, Path_]] = [(value, prefix or [])]
    while stack:
        node, path = stack.pop()
        items = (node.items() if isinstance(node, dict)
                 else enumerate(node) if isinstance(node, list) else ())
        for key, item in items:
            found.append([*path, key])
            stack.append((item, [*path, key]))
    return found


def replaced(value: Any, path: Path_, new: Any) -> Any:
    out = copy.deepcopy(value)
    node = out
    for part in path[:-1]:
        node = node[part]
    if new is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return out


_DELETE: Any = object()
_MARK = "__fuzz_mark__"
WRONG = [None, True, False, -1, 0, 10**30, -(10**30), 1.5, 1e308, "", " ", "x", "12", "0",
         "2026-13-45T99:00:00Z", "1e400", "NaN", "-Infinity", [], {}, [None], [{}],
         {"a": None}, [[[]]], "\u0000", "Ω" * 3, "\ud7ff"]
RAW_NUMBERS = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1e-400", b"00",
               b"01", b"-", b".5", b"+1", b"0x10", b"1.", b"--1", b"1e", b"tru", b"nul"]
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
             b"\x00", b"\x80", b"\xe2\x82", b'"\\ud800"', b'"\\udc00\\ud800"', b"\\", b'"']


@dataclass
class Mutator:
    rng: random.Random
    bases: list[dict[str, Any]]
    made: dict[str, int] = field(default_factory=dict)

    def body(self) -> tuple[str, bytes]:
        base = self.rng.choice(self.bases)
        kinds: list[tuple[str, int, Callable[[dict[str, Any]], bytes]]] = [
            ("wrong_type", 30, self.wrong_type), ("delete", 10, self.delete),
            ("deep", 6, self.deep), ("huge_array", 3, self.huge_array),
            ("long_string", 3, self.long_string), ("many_keys", 2, self.many_keys),
            ("raw_number", 8, self.raw_number), ("duplicate_keys", 6, self.duplicate_keys),
            ("bad_bytes", 8, self.bad_bytes), ("truncated", 8, self.truncated),
            ("byte_flip", 8, self.byte_flip), ("not_an_object", 3, self.not_an_object),
            ("stacked", 5, self.stacked),
        ]
        names, weights, makers = zip(*kinds, strict=True)
        index = self.rng.choices(range(len(kinds)), weights=weights)[0]
        self.made[names[index]] = self.made.get(names[index], 0) + 1
        return names[index], makers[index](base)

    def _place(self, value: Any) -> Path_:
        return self.rng.choice(paths(value) or [["event"]])

    def wrong_type(self, base: dict[str, Any]) -> bytes:
        return encode(replaced(base, self._place(base), copy.deepcopy(self.rng.choice(WRONG))))

    def delete(self, base: dict[str, Any]) -> bytes:
        return encode(replaced(base, self._place(base), _DELETE))

    def deep(self, base: dict[str, Any]) -> bytes:
        depth = self.rng.choice([10, 30, 31, 32, 33, 100, 1000, 1022, 1023, 1024, 1025, 5000])
        opener, closer = self.rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        text = encode(replaced(base, self._place(base), _MARK))
        return text.replace(f'"{_MARK}"'.encode(), opener * depth + b"1" + closer * depth, 1)

    def huge_array(self, base: dict[str, Any]) -> bytes:
        count = self.rng.choice([9_999, 10_000, 10_001, 49_000, 60_000, 200_000])
        item = self.rng.choice([b"0", b"{}", b'"x"', b"null", b"[]", b'{"id":"r"}'])
        text = encode(replaced(base, self._place(base), _MARK))
        return text.replace(f'"{_MARK}"'.encode(), b"[" + b",".join([item] * count) + b"]", 1)

    def long_string(self, base: dict[str, Any]) -> bytes:
        size = self.rng.choice([65_535, 65_536, 65_537, 16_385, 200_000, 400_000])
        char = self.rng.choice(["x", "é", "会", "\U0001f600"])
        text = char * (size // len(char.encode()))
        if self.rng.random() < 0.3:
            return encode(replaced(base, ["payload", text], 1))  # a long key
        return encode(replaced(base, self._place(base), text))

    def many_keys(self, base: dict[str, Any]) -> bytes:
        count = self.rng.choice([5_000, 10_001, 30_000])
        return encode(replaced(base, self._place(base), {f"k{i}": i for i in range(count)}))

    def raw_number(self, base: dict[str, Any]) -> bytes:
        text = encode(replaced(base, self._place(base), _MARK))
        return text.replace(f'"{_MARK}"'.encode(), self.rng.choice(RAW_NUMBERS), 1)

    def duplicate_keys(self, base: dict[str, Any]) -> bytes:
        text = encode(base)
        extra = self.rng.choice([b'"event":"zoomroom.alert",', b'"payload":null,',
                                 b'"payload":{"account_id":5},', b'"event":1,', b'"":0,'])
        at = self.rng.choice([i for i, byte in enumerate(text) if byte == ord("{")])
        return text[: at + 1] + extra + text[at + 1:]

    def bad_bytes(self, base: dict[str, Any]) -> bytes:
        text = encode(base)
        at = self.rng.randrange(len(text))
        return text[:at] + self.rng.choice(BAD_BYTES) + text[at:]

    def truncated(self, base: dict[str, Any]) -> bytes:
        text = encode(base)
        return text[: self.rng.randrange(len(text))]

    def byte_flip(self, base: dict[str, Any]) -> bytes:
        text = bytearray(encode(base))
        for _ in range(self.rng.randint(1, 4)):
            text[self.rng.randrange(len(text))] = self.rng.randrange(256)
        return bytes(text)

    def not_an_object(self, base: dict[str, Any]) -> bytes:
        return self.rng.choice([b"", b" ", b"null", b"[]", b"1", b'"x"', b"[{}]", b"\n\t",
                                b"{}", b'{"event":null}', b'{"event":"zoomroom.alert"}'])

    def stacked(self, base: dict[str, Any]) -> bytes:
        value = base
        for _ in range(self.rng.randint(2, 5)):
            value = replaced(value, self._place(value), copy.deepcopy(self.rng.choice(WRONG)))
        return encode(value)


@dataclass
class Outcome:
    statuses: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, body: bytes, response: requests.Response | None, *,
               error: Exception | None, elapsed: float, previous: str) -> None:
        with self.lock:
            self.slowest_s = max(self.slowest_s, elapsed)
            if error is not None:
                self.problems.append(f"{kind}: {error!r} after {elapsed:.2f}s, body {body[:80]!r}"
                                     f" (after {previous})")
                return
            assert response is not None
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            problem = _problem(response, elapsed)
            if problem:
                self.problems.append(f"{kind}: {problem}, body {body[:80]!r}")


def _problem(response: requests.Response, elapsed: float) -> str | None:
    if response.status_code not in ANSWERS:
        return f"status {response.status_code}: {response.text[:200]}"
    if elapsed > ZOOM_BUDGET_S:
        return f"answered after {elapsed:.2f}s"
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return f"not JSON: {response.headers.get('Content-Type')}"
    try:
        json.loads(response.content)
    except ValueError:
        return f"body is not JSON: {response.content[:80]!r}"
    return None


def send(url: str, work: list[tuple[str, bytes, bool]], outcome: Outcome) -> None:
    session = requests.Session()
    previous = "none"
    for kind, body, signed in work:
        headers = signed_headers(body) if signed else {"x-zm-signature": "v0=00",
                                                       "x-zm-request-timestamp": "1"}
        began = time.monotonic()
        try:
            response = session.post(url, data=body, headers=headers, timeout=10)
        except requests.RequestException as exc:
            outcome.record(kind, body, None, error=exc, elapsed=time.monotonic() - began,
                           previous=previous)
            session = requests.Session()
            continue
        outcome.record(kind, body, response, error=None, elapsed=time.monotonic() - began,
                       previous=previous)
        previous = f"{kind} {response.status_code} {len(body)} bytes {response.headers}"


def workers(service: Service) -> set[int]:
    """The gunicorn workers' pids (children of the gunicorn master)."""
    assert service.process is not None
    found = set()
    for pid in descendants(service.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if b"gunicorn" in cmdline and b"gunicorn" in parent_cmdline:
            found.add(pid)
    return found


@pytest.fixture
def service(config: Config, tmp_path: Path) -> Iterator[Service]:
    svc = Service(config, free_port(), free_port(), log=tmp_path / "serve.log").start()
    yield svc
    svc.stop()


def mutations(count: int, seed: int = SEED) -> Iterator[tuple[str, bytes, bool]]:
    """``count`` bodies (kind, bytes, signed?); one in twenty is sent with a bad signature."""
    rng = random.Random(seed)
    mutator = Mutator(rng, base_events())
    for _ in range(count):
        kind, body = mutator.body()
        yield kind, body, rng.random() >= 0.05


def test_mutations_are_deterministic_and_cover_every_kind() -> None:
    first = [body for _, body, _ in mutations(300)]
    assert first == [body for _, body, _ in mutations(300)]
    kinds = {kind for kind, _, _ in mutations(2000)}
    assert len(kinds) == 13


def test_ten_thousand_signed_mutations_against_a_real_gunicorn(
        service: Service, influx: InfluxClient) -> None:
    work = list(mutations(COUNT))
    before = workers(service)
    assert before
    outcome = Outcome()
    url = f"{service.url}/webhooks/zoom"
    threads = [threading.Thread(target=send, args=(url, work[i::THREADS], outcome))
               for i in range(THREADS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - began
    print(f"fuzz: {COUNT} requests in {duration:.1f}s, statuses {sorted(outcome.statuses.items())},"
          f" slowest {outcome.slowest_s:.3f}s")
    for problem in outcome.problems[:20]:
        print(problem)
    assert outcome.problems == [], outcome.problems[:20]
    assert sum(outcome.statuses.values()) == COUNT
    assert {200, 400, 401, 413, 422} <= set(outcome.statuses)
    assert workers(service) == before, "a gunicorn worker died or was replaced"

    room = "after-the-fuzz"
    body = encode(sensor_event(room))
    response = requests.post(url, data=body, headers=signed_headers(body), timeout=10)
    assert response.status_code == 200

    def landed() -> bool:
        series = influx.query(f"SELECT count(\"value\") FROM \"sensor\" WHERE room_id = '{room}'")
        return bool(series and series[0].values and series[0].values[0][1] == 9)

    wait_for(landed, 90, "the event after the fuzz in InfluxDB")
