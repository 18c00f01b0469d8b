"""Load and fault test over real HTTP (uvicorn on a free port): concurrent clients with valid,
malformed and oversized bodies and clients that disconnect mid-request or walk away from their
answer; every valid request answered correctly, none lost, the service alive at the end."""
import json
import random
import urllib.request

from hsl_bioner_runtime.formats.writers import to_json
from hsl_bioner_runtime.service import loadtest

WORDS = "BRCA1 mutation breast cancer Down syndrome cocaine patients were given a in the".split()


def test_every_valid_request_is_answered_correctly_whatever_the_others_do(
    serve_live, rule_tagger_class
):
    limit = 2000
    url = serve_live(rule_tagger_class(), max_body_bytes=limit, max_batch=16, queue_size=64)
    direct = rule_tagger_class(merge="type")
    rng = random.Random(15)
    probes = []
    for _ in range(40):
        count = rng.randint(1, 3)
        texts = [" ".join(rng.choices(WORDS, k=rng.randint(3, 30))) + "." for _ in range(count)]
        expected = "".join(to_json(r) for r in direct.tag_documents([{"text": t} for t in texts]))
        probes.append(loadtest.valid_probe(texts, expected.encode()))
    probes += [loadtest.malformed_probe() for _ in range(10)]
    probes += [loadtest.oversized_probe(limit) for _ in range(8)]
    probes += [loadtest.disconnect_probe(["Down syndrome " * 20]) for _ in range(6)]
    probes += [loadtest.abandon_probe(["breast cancer " * 20]) for _ in range(6)]
    rng.shuffle(probes)

    outcomes = loadtest.drive(url, probes, clients=8, timeout=30)

    assert len(outcomes) == len(probes)
    failed = [(o.kind, o.status, o.error) for o in outcomes if not o.ok]
    assert failed == []
    statuses = {}
    for outcome in outcomes:
        statuses.setdefault(outcome.kind, set()).add(outcome.status)
    assert statuses == {"valid": {200}, "malformed": {400}, "oversized": {413},
                        "disconnect": {None}, "abandon": {None}}
    with urllib.request.urlopen(f"{url}health", timeout=10) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok"
    # The 40 valid requests were tagged, and the abandoned ones too if they came before their
    # client was seen to be gone; nothing else reached the tagger.
    assert 40 <= health["batching"]["requests"] <= 46
