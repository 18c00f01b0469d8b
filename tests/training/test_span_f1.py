import random
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from allennlp.data import Vocabulary
from allennlp.training.metrics import Metric, SpanBasedF1Measure

from hsl_bioner.training.span_f1 import SpanF1
from hsl_bioner_runtime.tag_schemes import spans_to_tags

TYPES = ["Chemical", "Disease", "Gene_or_protein"]


def _random_tags(generator: random.Random, length: int, scheme: str):
    spans, position = [], 0
    while position < length:
        if generator.random() < 0.4:
            end = min(length - 1, position + generator.randrange(3))
            spans.append((generator.choice(TYPES), position, end))
            position = end + 1
        else:
            position += 1
    return spans_to_tags(spans, length, scheme)


def _pairs(seed: int, scheme: str, count: int = 300):
    generator = random.Random(seed)
    pairs = []
    for _ in range(count):
        length = generator.randrange(1, 12)
        gold = _random_tags(generator, length, scheme)
        # Predictions: often the gold tags, else other tags (partly overlapping, other types).
        predicted = gold if generator.random() < 0.3 else _random_tags(generator, length, scheme)
        pairs.append((predicted, gold))
    return pairs


def _allennlp_scores(pairs, scheme: str):
    tags = sorted({tag for pair in pairs for tags in pair for tag in tags})
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(tags, "labels")
    measure = SpanBasedF1Measure(vocab, tag_namespace="labels", label_encoding=scheme)
    for predicted, gold in pairs:
        index = [vocab.get_token_index(tag, "labels") for tag in predicted]
        one_hot = torch.zeros(1, len(index), vocab.get_vocab_size("labels"))
        one_hot[0, torch.arange(len(index)), torch.tensor(index)] = 1
        gold_index = torch.tensor([[vocab.get_token_index(tag, "labels") for tag in gold]])
        measure(one_hot, gold_index, torch.ones(1, len(index), dtype=torch.bool))
    return measure.get_metric()


@pytest.mark.parametrize("scheme", ["BIO", "BIOUL"])
def test_values_are_those_of_allennlps_span_based_f1(scheme):
    pairs = _pairs(0, scheme)
    metric = SpanF1(TYPES, scheme)
    metric([p for p, _ in pairs], [g for _, g in pairs])
    ours = metric.get_metric(reset=True)
    theirs = _allennlp_scores(pairs, scheme)
    assert 0.2 < ours["f1"] < 0.9  # a test with true and false positives and negatives
    renamed = {
        key.replace("f1-measure", "f1").replace("-overall", ""): value
        for key, value in theirs.items()
    }
    assert ours == renamed  # the same numbers to the last bit, per type and overall
    assert metric.get_metric() == {"precision": 0.0, "recall": 0.0, "f1": 0.0}  # after reset


def test_registered_and_refuses_bad_input():
    assert Metric.by_name("bioner_span_f1") is SpanF1
    metric = SpanF1(["Disease"], "BIO")
    with pytest.raises(ValueError, match="2 predicted tags for 1 gold tags"):
        metric([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="'Gene' is not among"):
        metric([["B-Gene"]], [["O"]])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _worker(rank: int, port: int, shards, expected, failures):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        metric = SpanF1(TYPES, "BIO")
        predicted, gold = zip(*shards[rank])
        metric(predicted, gold)
        if metric.get_metric() != expected:
            failures.put(rank)
    finally:
        dist.destroy_process_group()


def test_counts_are_summed_over_distributed_workers():
    pairs = _pairs(1, "BIO", count=100)
    # One worker sees no entity of some types: the collective calls must still match.
    shards = [pairs[:3], pairs[3:]]
    whole = SpanF1(TYPES, "BIO")
    whole([p for p, _ in pairs], [g for _, g in pairs])
    context = mp.get_context("fork")
    failures = context.SimpleQueue()
    port = _free_port()
    mp.start_processes(
        _worker, args=(port, shards, whole.get_metric(), failures), nprocs=2, start_method="fork"
    )
    assert failures.empty()
