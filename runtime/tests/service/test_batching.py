"""Cross-request batching: concurrent requests share one tagger call; a full queue refuses with
503 and Retry-After; a request the tagger refuses fails alone."""
import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsl_bioner_runtime.service.batching import Batcher


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def post_texts(client, texts):
    response = client.post("/tag", json={"texts": texts})
    return response.status_code, [json.loads(line)["text"] for line in response.text.splitlines()]


def test_concurrent_requests_share_one_tagger_call(serve, rule_tagger_class):
    gate = threading.Event()
    tagger = rule_tagger_class(gate=gate)
    client = serve(tagger, max_batch=8, max_wait=0.001)
    batcher = client.app.state.batcher
    requests = [["first"], ["a1", "a2"], ["b1"], ["c1", "c2", "c3"], ["d1", "d2", "d3"]]
    with ThreadPoolExecutor(len(requests)) as pool:
        first = pool.submit(post_texts, client, requests[0])
        wait_until(tagger.started.is_set)  # the worker is in the tagger, held by the gate
        rest = []
        for texts in requests[1:]:  # one at a time, so that the queue's order is known
            rest.append(pool.submit(post_texts, client, texts))
            wait_until(lambda n=len(rest): batcher.waiting == n)
        gate.set()
        answers = [first.result()] + [future.result() for future in rest]
    # Every request gets its own documents back, in order...
    assert answers == [(200, texts) for texts in requests]
    # ... from three calls: the first alone, then 2 + 1 + 3 documents (8 would not fit the last
    # request, which starts the next call).
    assert tagger.calls == [1, 6, 3]
    stats = client.get("/health").json()["batching"]
    assert stats["calls"] == 3 and stats["requests"] == 5 and stats["documents"] == 10
    assert stats["largest_call"] == 6


def test_a_full_queue_refuses_with_503_and_retry_after(serve, rule_tagger_class):
    gate = threading.Event()
    tagger = rule_tagger_class(gate=gate)
    client = serve(tagger, max_batch=1, queue_size=2)
    batcher = client.app.state.batcher
    with ThreadPoolExecutor(3) as pool:
        held = [pool.submit(post_texts, client, ["in the tagger"])]
        wait_until(tagger.started.is_set)
        for i in range(2):
            held.append(pool.submit(post_texts, client, [f"queued {i}"]))
        wait_until(lambda: batcher.waiting == 2)
        refused = client.post("/tag", json={"text": "one too many"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "busy" in refused.json()["error"]
        assert client.get("/health").json()["queue"] == {"waiting": 2, "size": 2}
        gate.set()
        assert [future.result()[0] for future in held] == [200, 200, 200]
    assert client.get("/health").json()["batching"]["refused"] == 1
    assert client.post("/tag", json={"text": "room again"}).status_code == 200


def test_a_request_the_tagger_refuses_fails_alone(serve, rule_tagger_class):
    class Picky(rule_tagger_class):
        def tag_documents(self, documents):
            if any(d["text"] == "refused" for d in documents):
                raise ValueError("Input needs something else: 'refused'")
            return super().tag_documents(documents)

    gate = threading.Event()
    tagger = Picky(gate=gate)
    client = serve(tagger, max_batch=8)
    batcher = client.app.state.batcher
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(post_texts, client, ["first"])
        wait_until(tagger.started.is_set)
        good = pool.submit(post_texts, client, ["good"])
        wait_until(lambda: batcher.waiting == 1)
        bad = pool.submit(client.post, "/tag", json={"texts": ["x", "refused"]})
        wait_until(lambda: batcher.waiting == 2)
        gate.set()
        assert first.result() == (200, ["first"])
        assert good.result() == (200, ["good"])
        assert bad.result().status_code == 422
        assert "'refused'" in bad.result().json()["error"]


def test_gone_clients_are_not_tagged():
    async def scenario():
        calls = []
        gate = threading.Event()

        def tag(documents):
            gate.wait(10)
            calls.append([d["text"] for d in documents])
            return [dict(d) for d in documents]

        batcher = Batcher(tag, max_batch=8, max_wait=0)
        await batcher.start()
        first = asyncio.ensure_future(batcher.tag([{"text": "first"}]))
        await asyncio.sleep(0.05)  # the worker holds "first" in the tagger
        gone = asyncio.ensure_future(batcher.tag([{"text": "gone"}]))
        kept = asyncio.ensure_future(batcher.tag([{"text": "kept"}]))
        await asyncio.sleep(0.01)
        gone.cancel()
        gate.set()
        assert (await first, await kept) == ([{"text": "first"}], [{"text": "kept"}])
        await batcher.stop()
        return calls

    assert asyncio.run(scenario()) == [["first"], ["kept"]]


@pytest.mark.parametrize("settings", [{"max_batch": 0}, {"queue_size": 0}, {"max_wait": -1}])
def test_bad_settings_are_refused(settings):
    with pytest.raises(ValueError, match="at least"):
        Batcher(lambda documents: documents, **settings)
