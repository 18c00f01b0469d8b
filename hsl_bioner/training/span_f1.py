"""Entity-level precision, recall and F1, summed over the workers of distributed training."""

from typing import Dict, List, Sequence, Tuple

import torch
from allennlp.nn.util import dist_reduce_sum
from allennlp.training.metrics import Metric

from hsl_bioner_runtime.tag_schemes import tags_to_spans


@Metric.register("bioner_span_f1")
class SpanF1(Metric):
    """Counts, per entity type, the predicted entities that are gold entities (true positives),
    the other predicted ones (false positives) and the gold entities not predicted (false
    negatives); an entity counts only with its exact span and type, as conlleval counts them.
    Spans are read with `tags_to_spans`, the one span decoder of the package.

    Why not AllenNLP's `SpanBasedF1Measure`: in AllenNLP 2.10 it raises in distributed training,
    its counts are private, and it decodes spans with functions of its own. The values are
    computed with its formulas, so they are the same numbers.

    In distributed training every worker makes one all-reduce per `get_metric`, over the entity
    types given at construction (the same on every worker), so the collective calls match
    whatever each worker has seen.

    Registered as a `Metric` with name "bioner_span_f1".

    # Parameters

    entity_types : `Sequence[str]`
        Every entity type the tags can carry (e.g. those of the tag vocabulary).
    label_encoding : `str`
        The tag scheme of the tag sequences ("BIO" or "BIOUL").
    """

    def __init__(self, entity_types: Sequence[str], label_encoding: str) -> None:
        self.entity_types = sorted(set(entity_types))
        self.label_encoding = label_encoding
        self.reset()

    def reset(self) -> None:
        # Per type: [true positives, false positives, false negatives].
        self._counts: Dict[str, List[int]] = {t: [0, 0, 0] for t in self.entity_types}

    def __call__(  # type: ignore[override]
        self, predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]
    ) -> None:
        """Counts the entities of pairs of tag sequences (predicted, gold) of the same sentences."""
        for predicted_tags, gold_tags in zip(predicted, gold, strict=True):
            if len(predicted_tags) != len(gold_tags):
                raise ValueError(
                    f"{len(predicted_tags)} predicted tags for {len(gold_tags)} gold tags."
                )
            found = set(tags_to_spans(predicted_tags, self.label_encoding))
            wanted = set(tags_to_spans(gold_tags, self.label_encoding))
            for span in found:
                self._count(span[0])[0 if span in wanted else 1] += 1
            for span in wanted - found:
                self._count(span[0])[2] += 1

    def _count(self, entity_type: str) -> List[int]:
        try:
            return self._counts[entity_type]
        except KeyError:
            raise ValueError(
                f"Entity type {entity_type!r} is not among this metric's types "
                f"({', '.join(self.entity_types)})."
            ) from None

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        """``precision``, ``recall`` and ``f1`` over all entities, and ``precision-<type>``,
        ``recall-<type>``, ``f1-<type>`` for each type that has any entity, predicted or gold."""
        counts = dist_reduce_sum(
            torch.tensor([self._counts[t] for t in self.entity_types], dtype=torch.long).view(-1, 3)
        ).tolist()
        metrics: Dict[str, float] = {}
        totals = [0, 0, 0]
        for entity_type, (tp, fp, fn) in zip(self.entity_types, counts):
            totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
            if tp or fp or fn:
                scores = _precision_recall_f1(tp, fp, fn)
                for name, value in zip(("precision", "recall", "f1"), scores):
                    metrics[f"{name}-{entity_type}"] = value
        metrics.update(zip(("precision", "recall", "f1"), _precision_recall_f1(*totals)))
        if reset:
            self.reset()
        return metrics


def _precision_recall_f1(tp: int, fp: int, fn: int) -> Tuple[float, float, float]:
    # SpanBasedF1Measure's formulas, smoothing terms included, so that the values are its values.
    precision = tp / (tp + fp + 1e-13)
    recall = tp / (tp + fn + 1e-13)
    return precision, recall, 2.0 * (precision * recall) / (precision + recall + 1e-13)
