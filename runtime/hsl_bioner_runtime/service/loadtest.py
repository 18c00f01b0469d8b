"""Load and fault clients of a running `bioner-serve` (localhost only; the standard library's
`http.client` and sockets, bounded in count and time): what `benchmarks/serve_load.py` measures
and the service's fault test runs.

A `Probe` is one request and what must come back; `drive` sends a list of probes from N
concurrent clients (each with its own keep-alive connection, reconnecting after a refusal that
closed it) and gives one `Outcome` per probe, in order. The kinds of probe:

- ``valid``: a JSON request that must be answered 200 with the expected body (the records that
  `Tagger.tag` gives for the same texts, when the caller knows them);
- ``malformed``: broken JSON, which must get 400;
- ``oversized``: a Content-Length over the service's limit, which must get 413 before the
  client has sent the body;
- ``disconnect``: a client that sends its headers and half its body, then closes the
  connection (mid-request); ``abandon``: a client that sends a whole valid request and closes
  without reading the answer. Neither has an answer to check: the service must go on.
"""
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence
from urllib.parse import urlsplit

KINDS = ("valid", "malformed", "oversized", "disconnect", "abandon")


@dataclass(frozen=True)
class Probe:
    """One request: its `kind` (`KINDS`), `body` and the `status` it must get (None: no answer
    is read); `check` tells whether a 200 body is the right one."""

    kind: str
    body: bytes
    status: Optional[int]
    check: Optional[Callable[[bytes], bool]] = None


@dataclass
class Outcome:
    """What became of a probe: the `status` got (None when none was read), `seconds` from
    sending to the end of the answer, `ok` (the status, and the body if checked, as expected)
    and the `error` of a failed exchange."""

    kind: str
    status: Optional[int]
    seconds: float
    ok: bool
    error: str = ""


def valid_probe(texts: Sequence[str], expected: Optional[bytes] = None) -> Probe:
    """A JSON request of `texts`; when given, the 200 body must be `expected` exactly."""
    body = json.dumps({"texts": list(texts)}).encode()
    check = None if expected is None else (lambda answer: answer == expected)
    return Probe("valid", body, 200, check)


def malformed_probe() -> Probe:
    return Probe("malformed", b'{"texts": ["an unfinished', 400)


def oversized_probe(limit: int) -> Probe:
    """A request that announces a body of ``limit + 1`` bytes (the body is never needed)."""
    return Probe("oversized", b" " * (limit + 1), 413)


def disconnect_probe(texts: Sequence[str]) -> Probe:
    return Probe("disconnect", json.dumps({"texts": list(texts)}).encode(), None)


def abandon_probe(texts: Sequence[str]) -> Probe:
    return Probe("abandon", json.dumps({"texts": list(texts)}).encode(), None)


def drive(url: str, probes: Sequence[Probe], clients: int, timeout: float = 60.0) -> List[Outcome]:
    """Sends `probes` to ``POST {url}tag`` from `clients` threads, each taking the next probe
    as soon as it is done with one; gives an `Outcome` per probe, in order. Each exchange may
    take at most `timeout` seconds."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    outcomes: List[Optional[Outcome]] = [None] * len(probes)
    lock = threading.Lock()
    taken = iter(range(len(probes)))

    def client() -> None:
        connection: Optional[http.client.HTTPConnection] = None
        while True:
            with lock:
                i = next(taken, None)
            if i is None:
                break
            probe = probes[i]
            if probe.kind in ("disconnect", "abandon"):
                outcomes[i] = _walk_away(host, port, probe, timeout)
                continue
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=timeout)
            outcomes[i] = _exchange(connection, probe)
            if outcomes[i].error or outcomes[i].status != 200:
                connection.close()  # the service may have closed it (413), start afresh
                connection = None
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [outcome for outcome in outcomes if outcome is not None]


def _exchange(connection: http.client.HTTPConnection, probe: Probe) -> Outcome:
    started = time.perf_counter()
    try:
        if probe.kind == "oversized":
            # Announce the body, send none of it: the service must refuse on the length alone.
            connection.putrequest("POST", "/tag")
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(probe.body)))
            connection.endheaders()
        else:
            connection.request(
                "POST", "/tag", body=probe.body, headers={"Content-Type": "application/json"}
            )
        response = connection.getresponse()
        answer = response.read()
    except (OSError, http.client.HTTPException) as error:
        return Outcome(probe.kind, None, time.perf_counter() - started, False, repr(error))
    seconds = time.perf_counter() - started
    ok = response.status == probe.status and (
        probe.check is None or response.status != 200 or probe.check(answer)
    )
    return Outcome(probe.kind, response.status, seconds, ok)


def _walk_away(host: str, port: int, probe: Probe, timeout: float) -> Outcome:
    """Sends the probe's headers and half its body (``disconnect``) or all of it (``abandon``),
    then closes the connection without reading."""
    started = time.perf_counter()
    body = probe.body if probe.kind == "abandon" else probe.body[: len(probe.body) // 2]
    head = (
        f"POST /tag HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(probe.body)}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(head + body)
    except OSError as error:
        return Outcome(probe.kind, None, time.perf_counter() - started, False, repr(error))
    return Outcome(probe.kind, None, time.perf_counter() - started, True)
