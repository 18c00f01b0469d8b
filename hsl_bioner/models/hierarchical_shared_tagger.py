"""The multi-task XLNet-CRF tagger of hierarchical shared transfer learning."""

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.lazy import Lazy
from allennlp.common.util import is_distributed
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models.model import Model
from allennlp.modules import ConditionalRandomField
from allennlp.modules.conditional_random_field import allowed_transitions
from allennlp.nn import InitializerApplicator
from allennlp.nn.util import dist_reduce_sum, get_text_field_mask
from allennlp.training.metrics import SpanBasedF1Measure

from hsl_bioner.modules import batched_crf
from hsl_bioner.modules.crf_marginals import crf_marginals
from hsl_bioner.modules.split_embedder import SplitTransformerEmbedder

logger = logging.getLogger(__name__)


def label_namespace(group: str) -> str:
    """The vocabulary namespace of a group's tags; each task's reader writes its tags there."""
    return f"{group}_labels"


class _TaggingHead(torch.nn.Module):
    """Projection from word vectors to tag scores, and a CRF whose transitions are constrained to
    the tag scheme (so decoding never yields e.g. ``O I-Disease`` under BIO)."""

    def __init__(self, input_dim: int, labels: Dict[int, str], label_encoding: str, dropout: float):
        super().__init__()
        self.dropout = torch.nn.Dropout(dropout)
        self.projection = torch.nn.Linear(input_dim, len(labels))
        self.crf = ConditionalRandomField(
            len(labels),
            constraints=allowed_transitions(label_encoding, labels),
            include_start_end_transitions=True,
        )

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        return self.projection(self.dropout(words))


@Model.register("bioner_tagger")
class HierarchicalSharedTagger(Model):
    """A transformer-CRF tagger for several tasks (data sets) at once, with hierarchical sharing.

    Every instance carries the name of its task. Tasks are gathered into *groups*; a group owns an
    upper stack of encoder layers ``[k, n)`` and a tagging head (projection + CRF). The embeddings
    and layers ``[0, k)`` are shared by all groups and run once per batch, so batches may mix tasks.
    The paper's regimes are compositions of these parameters, not code paths:

    - STL: one task.
    - MTL-XC: all tasks of a category in ONE group (every parameter shared; scores still per task).
    - MTL-LS: each task its own group, k = slicing rate x n; the lower layers initialised from an
      MTL-XC archive (see the `bioner_from_archive` initializer).

    Why not AllenNLP's `MultiTaskModel` (backbone + heads): it maps one task to one head by name
    (the instance's task selects the head called like it), so an MTL-XC group, one head shared
    by several tasks, has no place in it; and while it loops over the heads it slices the nested
    batch dicts in place (`make_inputs_for_task` writes each head's rows back into the
    `TextFieldTensors` dict it was given), so the second head of a mixed batch gets rows picked
    from the first head's slice, not from the batch. Here the shared part runs once on the whole
    batch and each group's upper layers and head get fresh index selections of their own rows.

    Registered as a `Model` with name "bioner_tagger".

    # Parameters

    vocab : `Vocabulary`
        Holds one tag namespace per group, named `<group>_labels` (see `label_namespace`).
    embedder : `Lazy[SplitTransformerEmbedder]`
        The split encoder ("split_transformer_mismatched" parameters without `upper_stacks`, which
        this model fills in with the group names).
    tasks : `Sequence[str]`
        Names of the tasks (data sets), as stamped on instances by the multi-task reader.
    groups : `Dict[str, Sequence[str]]`, optional (default = `None`)
        Group name -> its tasks. A task in no group forms a group of its own named after it.
        Names must not contain '.'.
    label_encoding : `str`, optional (default = `"BIO"`)
        The tag scheme the readers produce ("BIO", "IOB1" or "BIOUL"); constrains the CRFs and
        tells the metrics how to read spans.
    dropout : `float`, optional (default = `0.0`)
        Dropout on word vectors before each projection (the encoder has its own dropout).
    initializer : `InitializerApplicator`, optional
        Applied after construction, e.g. MTL-LS initialisation from an MTL-XC archive.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        embedder: Lazy[SplitTransformerEmbedder],
        tasks: Sequence[str],
        groups: Optional[Dict[str, Sequence[str]]] = None,
        label_encoding: str = "BIO",
        dropout: float = 0.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if not tasks:
            raise ConfigurationError("The model needs at least one task.")
        self.tasks = list(tasks)
        self.group_of_task = _group_tasks(self.tasks, groups or {})
        self.groups = list(dict.fromkeys(self.group_of_task.values()))
        self.label_encoding = label_encoding
        self.embedder = embedder.construct(upper_stacks=self.groups)
        self.heads = torch.nn.ModuleDict()
        for group in self.groups:
            labels = self._labels_of(group)
            self.heads[group] = _TaggingHead(
                self.embedder.get_output_dim(), labels, label_encoding, dropout
            )
        self.metrics = {
            task: _SpanF1(
                vocab,
                tag_namespace=label_namespace(self.group_of_task[task]),
                label_encoding=label_encoding,
            )
            for task in self.tasks
        }
        self._tasks_seen: set = set()
        initializer(self)

    def _labels_of(self, group: str) -> Dict[int, str]:
        namespace = label_namespace(group)
        labels = self.vocab.get_index_to_token_vocabulary(namespace)
        if not labels or set(labels.values()) <= {"@@PADDING@@", "@@UNKNOWN@@"}:
            raise ConfigurationError(
                f"The vocabulary has no tags in namespace '{namespace}' for group '{group}': "
                "every task needs a reader and training data, and its reader must write "
                f"label_namespace: '{namespace}' (tasks of the group: "
                f"{', '.join(t for t, g in self.group_of_task.items() if g == group)})."
            )
        return labels

    def forward(  # type: ignore
        self,
        tokens: TextFieldTensors,
        tags: Optional[torch.LongTensor] = None,
        task: Optional[List[str]] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
        **kwargs,
    ) -> Dict[str, Any]:
        """
        # Parameters

        tokens : `TextFieldTensors`
            From a `pretrained_transformer_mismatched` indexer, under the key "tokens".
        tags : `torch.LongTensor`, optional
            Gold tags ``[batch, words]``, each row in its own group's namespace.
        task : `List[str]`, optional
            The task of each instance; may be left out when the model has a single task.
        metadata : `List[Dict[str, Any]]`, optional
            Passed through (the reader puts the words there).

        # Returns

        "tags" (best tag index sequence per instance), "task", "mask", "words" when known, and
        "loss" (mean negative CRF log-likelihood per instance) when gold tags are given.
        """
        batch_size = tokens["tokens"]["token_ids"].size(0)
        task = self._check_tasks(task, batch_size)
        row_groups = [self.group_of_task[t] for t in task]
        words = self.embedder(**tokens["tokens"], stacks=row_groups)
        mask = get_text_field_mask(tokens)

        output: Dict[str, Any] = {"task": task, "mask": mask}
        # Each row scored by its own group's head; one CRF pass over the whole mixed batch.
        groups = list(dict.fromkeys(row_groups))
        crfs = [self.heads[group].crf for group in groups]
        num_tags = max(crf.num_tags for crf in crfs)
        logits = words.new_empty(words.shape[:2] + (num_tags,))
        for group, rows in _rows_by_key(row_groups).items():
            index = torch.tensor(rows, device=words.device)
            group_logits = self.heads[group](words.index_select(0, index))
            logits = logits.index_copy(0, index, batched_crf.pad_tags(group_logits, num_tags))
        row_crf = torch.tensor([groups.index(group) for group in row_groups], device=words.device)

        def row_potentials(constrained: bool) -> batched_crf.Potentials:
            stacked = batched_crf.stacked_potentials(crfs, constrained)
            return tuple(p.index_select(0, row_crf) for p in stacked)  # type: ignore

        best = batched_crf.viterbi(logits, mask, row_potentials(constrained=True))
        output["tags"] = [path for path, _ in best]
        # Unpadded: each row's scores over its own group's tags.
        output["logits"] = [
            logits[row, :, : self.heads[group].crf.num_tags]
            for row, group in enumerate(row_groups)
        ]
        if tags is not None:
            log_likelihood = batched_crf.log_likelihood(
                logits, tags, mask, row_potentials(constrained=False)
            )
            output["loss"] = -log_likelihood.sum() / batch_size
            self._update_metrics(task, logits, output["tags"], tags, mask)
        if metadata is not None:
            output["words"] = [m["words"] for m in metadata]
        return output

    def _check_tasks(self, task: Optional[List[str]], batch_size: int) -> List[str]:
        if task is None:
            if len(self.tasks) != 1:
                raise ConfigurationError(
                    f"This model has tasks {', '.join(self.tasks)}: instances must carry a 'task' "
                    "field (read them with the 'multitask' dataset reader)."
                )
            return [self.tasks[0]] * batch_size
        unknown = sorted(set(task) - set(self.tasks))
        if unknown:
            raise ConfigurationError(
                f"Unknown task(s) {', '.join(unknown)}; this model knows {', '.join(self.tasks)}."
            )
        return list(task)

    def _update_metrics(
        self,
        task: List[str],
        logits: torch.Tensor,
        paths: List[List[int]],
        gold: torch.Tensor,
        mask: torch.Tensor,
    ) -> None:
        # SpanBasedF1Measure reads the argmax of its "predictions": one-hot of the Viterbi path.
        one_hot = torch.zeros_like(logits)
        for row, path in enumerate(paths):
            one_hot[row, torch.arange(len(path)), torch.tensor(path, dtype=torch.long)] = 1
        for t, rows in _rows_by_key(task).items():
            index = torch.tensor(rows, device=logits.device)
            self.metrics[t](one_hot[index], gold[index], mask[index])
            self._tasks_seen.add(t)

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        """Turns tag indices into tag strings, each row through its own group's namespace, and adds
        "tag_probs": the CRF marginal probability of each decoded tag (a confidence)."""
        logits = output_dict.pop("logits")
        decoded: List[Any] = [None] * len(logits)
        groups = [self.group_of_task[task] for task in output_dict["task"]]
        for group, rows in _rows_by_key(groups).items():
            paths = [output_dict["tags"][row] for row in rows]
            for row, result in zip(
                rows, self._decode(group, torch.stack([logits[r] for r in rows]), paths)
            ):
                decoded[row] = result
        output_dict["tags"] = [tags for tags, _ in decoded]
        output_dict["tag_probs"] = [probs for _, probs in decoded]
        return output_dict

    def tag_with_tasks(
        self, tokens: TextFieldTensors, tasks: Sequence[str]
    ) -> Dict[str, List[Tuple[List[str], List[float]]]]:
        """Tags every instance of the batch with each of `tasks`, running the shared layers once
        and each group's upper layers and head once (tasks of one group share their result).
        Returns, per task, one ``(tags, tag_probs)`` per instance."""
        self._check_tasks(list(tasks), len(tasks))
        groups = list(dict.fromkeys(self.group_of_task[task] for task in tasks))
        words = self.embedder.forward_all_stacks(groups, **tokens["tokens"])
        mask = get_text_field_mask(tokens)
        results = {}
        for group in groups:
            logits = self.heads[group](words[group])
            potentials = batched_crf.crf_potentials(self.heads[group].crf, constrained=True)
            rows = logits.size(0)
            paths = [
                path
                for path, _ in batched_crf.viterbi(
                    logits, mask, tuple(p.expand(rows, *p.shape) for p in potentials)
                )
            ]
            results[group] = self._decode(group, logits, paths)
        return {task: results[self.group_of_task[task]] for task in tasks}

    def _decode(
        self, group: str, logits: torch.Tensor, paths: List[List[int]]
    ) -> List[Tuple[List[str], List[float]]]:
        """Tag strings and their marginal probabilities for the decoded `paths` of one group's
        rows (`logits` ``[rows, words, tags]``)."""
        mask = torch.zeros(logits.shape[:2], dtype=torch.bool, device=logits.device)
        for row, path in enumerate(paths):
            mask[row, : len(path)] = True
        marginals = crf_marginals(self.heads[group].crf, logits.detach(), mask)
        namespace = label_namespace(group)
        decoded = []
        for row, path in enumerate(paths):
            chosen = marginals[row, torch.arange(len(path)), torch.tensor(path, dtype=torch.long)]
            tags = [self.vocab.get_token_from_index(tag, namespace=namespace) for tag in path]
            decoded.append((tags, chosen.tolist()))
        return decoded

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        """Per task: `<task>_precision`, `<task>_recall`, `<task>_f1` (entity level: exact span and
        type, as conlleval), plus `<task>_<type>_f1` for tasks with several entity types; overall
        `precision`, `recall`, `f1`: macro averages over the tasks seen since the last reset."""
        metrics: Dict[str, float] = {}
        seen = []
        for task in self.tasks:
            # Every worker makes the same collective calls, in distributed training too: the
            # metric all-reduces its counts, and whether a task was seen is summed over workers.
            if dist_reduce_sum(int(task in self._tasks_seen)) == 0:
                continue
            seen.append(task)
            scores = self.metrics[task].get_metric(reset=reset)
            for name in ("precision", "recall"):
                metrics[f"{task}_{name}"] = scores[f"{name}-overall"]
            metrics[f"{task}_f1"] = scores["f1-measure-overall"]
            types = [key[len("f1-measure-") :] for key in scores if key.startswith("f1-measure-")]
            types.remove("overall")
            if len(types) > 1:
                for entity_type in types:
                    metrics[f"_{task}_{entity_type}_f1"] = scores[f"f1-measure-{entity_type}"]
        for name in ("precision", "recall", "f1"):
            metrics[name] = sum(metrics[f"{t}_{name}"] for t in seen) / len(seen) if seen else 0.0
        if reset:
            self._tasks_seen = set()
        return metrics

    default_predictor = "bioner"


class _SpanF1(SpanBasedF1Measure):
    """`SpanBasedF1Measure` whose counts are summed over the workers in distributed training
    (AllenNLP 2.10's raises ``RuntimeError`` there). Every worker makes one all-reduce per call,
    over the entity types of the tag namespace (the same on every worker: the vocabulary is
    shared), so the collective calls match whatever each worker has seen."""

    def __init__(self, vocab: Vocabulary, tag_namespace: str, label_encoding: str) -> None:
        super().__init__(vocab, tag_namespace=tag_namespace, label_encoding=label_encoding)
        tags = vocab.get_token_to_index_vocabulary(tag_namespace)
        self._types = sorted({tag[2:] for tag in tags if len(tag) > 2 and tag[1] == "-"})

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        if not is_distributed():
            return super().get_metric(reset=reset)
        counts = dist_reduce_sum(
            torch.tensor(
                [
                    [self._true_positives[t], self._false_positives[t], self._false_negatives[t]]
                    for t in self._types
                ],
                dtype=torch.long,
            ).view(-1, 3)
        ).tolist()
        metrics: Dict[str, float] = {}
        totals = [0, 0, 0]
        for entity_type, (tp, fp, fn) in zip(self._types, counts):
            totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
            if tp or fp or fn:
                precision, recall, f1 = self._compute_metrics(tp, fp, fn)
                metrics[f"precision-{entity_type}"] = precision
                metrics[f"recall-{entity_type}"] = recall
                metrics[f"f1-measure-{entity_type}"] = f1
        precision, recall, f1 = self._compute_metrics(*totals)
        metrics.update(
            {"precision-overall": precision, "recall-overall": recall, "f1-measure-overall": f1}
        )
        if reset:
            self.reset()
        return metrics


def _group_tasks(tasks: List[str], groups: Dict[str, Sequence[str]]) -> Dict[str, str]:
    group_of_task: Dict[str, str] = {}
    for group, members in groups.items():
        for task in members:
            if task not in tasks:
                raise ConfigurationError(
                    f"Group '{group}' lists '{task}', which is not among the tasks "
                    f"({', '.join(tasks)})."
                )
            if task in group_of_task:
                raise ConfigurationError(
                    f"Task '{task}' is in two groups: '{group_of_task[task]}' and '{group}'."
                )
            group_of_task[task] = group
    for task in tasks:
        group_of_task.setdefault(task, task)
    for group in set(group_of_task.values()):
        if not group or "." in group:
            raise ConfigurationError(f"Invalid group name {group!r}: no '.' allowed.")
    return group_of_task


def _rows_by_key(keys: Sequence[str]) -> Dict[str, List[int]]:
    rows: Dict[str, List[int]] = {}
    for row, key in enumerate(keys):
        rows.setdefault(key, []).append(row)
    return rows
