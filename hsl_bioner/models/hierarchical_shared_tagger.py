"""The multi-task XLNet-CRF tagger of hierarchical shared transfer learning."""

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.lazy import Lazy
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models.model import Model
from allennlp.nn import InitializerApplicator
from allennlp.nn.util import dist_reduce_sum, get_text_field_mask

from hsl_bioner.data.task_groups import group_tasks, label_namespace
from hsl_bioner.modules.crf import LinearChainCrf, log_likelihood
from hsl_bioner.modules.split_embedder import SplitTransformerEmbedder
from hsl_bioner.modules.split_transformer import check_stack_name
from hsl_bioner.training.span_f1 import SpanF1
from hsl_bioner_runtime.crf import Tagging
from hsl_bioner_runtime.tag_schemes import CODING_SCHEMES

logger = logging.getLogger(__name__)

# The rows of a batch that belong to each group, in order of first appearance; None: every row.
RowsOfGroup = Dict[str, Optional[torch.LongTensor]]


class _TaggingHead(torch.nn.Module):
    """Projection from word vectors to tag scores, and a CRF whose transitions are constrained to
    the tag scheme (so decoding never yields e.g. ``O I-Disease`` under BIO)."""

    def __init__(self, input_dim: int, labels: Dict[int, str], label_encoding: str, dropout: float):
        super().__init__()
        self.dropout = torch.nn.Dropout(dropout)
        self.projection = torch.nn.Linear(input_dim, len(labels))
        self.crf = LinearChainCrf(labels, label_encoding)

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

    One way through the model serves training, evaluation and prediction: the rows of a batch are
    grouped once (`forward`) or sent through every selected group (`tag`); `emissions` runs the
    shared layers once and each group's upper layers and head on its rows; `decode` turns each
    group's emission scores into tags and their marginal probabilities with the numpy CRF decoder
    of `hsl_bioner_runtime.crf` (what the exported runtime runs); the results are scattered back
    to the rows once.

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
        Holds one tag namespace per group, named `<group>_labels` (see
        `hsl_bioner.data.task_groups.label_namespace`), coded in `label_encoding`.
    embedder : `Lazy[SplitTransformerEmbedder]`
        The split encoder ("bioner_split_transformer" parameters without `upper_stacks`, which
        this model fills in with the group names).
    tasks : `Sequence[str]`
        Names of the tasks (data sets), as stamped on instances by the multi-task reader.
    groups : `Dict[str, Sequence[str]]`, optional (default = `None`)
        Group name -> its tasks. A task in no group forms a group of its own named after it.
        Names must not contain '.' nor be "base", "lower_layers" or "upper_stacks". Give the
        readers the same value (their `groups`), so that they write each task's tags to its
        group's namespace.
    label_encoding : `str`, optional (default = `"BIO"`)
        The tag scheme of the tags: "BIO" or "BIOUL", the readers' `coding_scheme`; constrains
        the CRFs and tells the metrics how to read spans. A tag namespace coded otherwise is a
        `ConfigurationError`.
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
        if label_encoding not in CODING_SCHEMES:
            raise ConfigurationError(
                f"label_encoding must be one of {', '.join(CODING_SCHEMES)} (the readers' "
                f"coding_scheme), not {label_encoding!r}."
            )
        self.tasks = list(tasks)
        self.group_of_task = group_tasks(self.tasks, groups or {})
        self.groups = list(dict.fromkeys(self.group_of_task.values()))
        for group in self.groups:
            check_stack_name(group)
        self.label_encoding = label_encoding
        self.embedder = embedder.construct(upper_stacks=self.groups)
        self.heads = torch.nn.ModuleDict()
        for group in self.groups:
            labels = self._labels_of(group)
            self.heads[group] = _TaggingHead(
                self.embedder.get_output_dim(), labels, label_encoding, dropout
            )
        self.metrics = {
            task: SpanF1(
                entity_types(self.heads[self.group_of_task[task]].crf.tags), label_encoding
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
                f"label_namespace: '{namespace}' (the bioner_iob reader does when given its task "
                "and the model's groups; tasks of the group: "
                f"{', '.join(t for t, g in self.group_of_task.items() if g == group)})."
            )
        coded_in = _coding_scheme_of(labels.values())
        if coded_in is not None and coded_in != self.label_encoding:
            raise ConfigurationError(
                f"The tags of namespace '{namespace}' are coded in {coded_in} (the readers' "
                f"coding_scheme), but the model's label_encoding is {self.label_encoding}: give "
                "both the same scheme."
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
            From the `bioner_pieces` indexer, under the key "tokens".
        tags : `torch.LongTensor`, optional
            Gold tags ``[batch, words]``, each row in its own group's namespace.
        task : `List[str]`, optional
            The task of each instance; may be left out when the model has a single task.
        metadata : `List[Dict[str, Any]]`, optional
            Passed through (the reader puts the words there).

        # Returns

        "tags" (the best tag sequence of each instance, as tag strings), "tag_probs" (the CRF
        marginal probability of each of those tags, a confidence; not while training), "task",
        "mask", "words" when known, and "loss" (mean negative CRF log-likelihood per instance)
        when gold tags are given.
        """
        batch_size = tokens["tokens"]["token_ids"].size(0)
        task = self._check_tasks(task, batch_size)
        rows_of_group = self._rows_of_groups(task, tokens["tokens"]["token_ids"].device)
        mask = get_text_field_mask(tokens)
        masks = {group: _rows(mask, rows) for group, rows in rows_of_group.items()}
        emissions = self.emissions(tokens, rows_of_group)
        decoded = self.decode(emissions, masks, probabilities=not self.training)

        # Scattered back to the batch's rows, once.
        batch_rows = {
            group: list(range(batch_size)) if rows is None else rows.tolist()
            for group, rows in rows_of_group.items()
        }
        tagged: List[Optional[Tagging]] = [None] * batch_size
        for group, rows in batch_rows.items():
            for row, tagging in zip(rows, decoded[group]):
                tagged[row] = tagging
        output: Dict[str, Any] = {"task": task, "mask": mask}
        output["tags"] = [tagging.tags for tagging in tagged]
        if not self.training:
            output["tag_probs"] = [tagging.probs for tagging in tagged]
        if tags is not None:
            per_row = log_likelihood(
                [self.heads[group].crf for group in rows_of_group],
                [emissions[group] for group in rows_of_group],
                [_rows(tags, rows) for rows in rows_of_group.values()],
                list(masks.values()),
            )
            # In the batch's order before summing, so that the loss does not depend on grouping.
            order = [row for rows in batch_rows.values() for row in rows]
            inverse = torch.empty(batch_size, dtype=torch.long, device=per_row.device)
            inverse[torch.tensor(order, device=per_row.device)] = torch.arange(
                batch_size, device=per_row.device
            )
            output["loss"] = -per_row.index_select(0, inverse).sum() / batch_size
            self._update_metrics(task, output["tags"], tags, mask)
        if metadata is not None:
            output["words"] = [m["words"] for m in metadata]
        return output

    def tag(self, tokens: TextFieldTensors, tasks: Sequence[str]) -> Dict[str, List[Tagging]]:
        """Tags every instance of the batch with each of `tasks`, running the shared layers once
        and each group's upper layers and head once (tasks of one group share their result).
        Returns, per task, one `Tagging` (tags, tag_probs) per instance."""
        self._check_tasks(list(tasks), len(tasks))
        rows_of_group: RowsOfGroup = {self.group_of_task[task]: None for task in tasks}
        mask = get_text_field_mask(tokens)
        decoded = self.decode(
            self.emissions(tokens, rows_of_group), {group: mask for group in rows_of_group}
        )
        return {task: decoded[self.group_of_task[task]] for task in tasks}

    def emissions(
        self, tokens: TextFieldTensors, rows_of_group: Mapping[str, Optional[torch.LongTensor]]
    ) -> Dict[str, torch.Tensor]:
        """Emission (tag) scores ``[len(rows), words, tags of the group]`` of each group's rows:
        the shared layers run once on the batch, each group's upper layers and head on its rows
        (None: every row)."""
        words = self.embedder(**tokens["tokens"], rows_of_stack=rows_of_group)
        return {group: self.heads[group](words[group]) for group in rows_of_group}

    def decode(
        self,
        emissions: Mapping[str, torch.Tensor],
        masks: Mapping[str, torch.Tensor],
        probabilities: bool = True,
    ) -> Dict[str, List[Tagging]]:
        """Tags (strings of the group's namespace) and, with `probabilities`, the CRF marginal
        probability of each, for each group's rows: `emissions` as from `emissions`, `masks`
        ``[len(rows), words]`` the words of those rows. The decoding path of every front door."""
        return {
            group: self.heads[group].crf.decode(scores, masks[group], probabilities)
            for group, scores in emissions.items()
        }

    def _rows_of_groups(self, task: List[str], device: torch.device) -> RowsOfGroup:
        rows: Dict[str, List[int]] = {}
        for row, row_task in enumerate(task):
            rows.setdefault(self.group_of_task[row_task], []).append(row)
        if len(rows) == 1:
            return {group: None for group in rows}
        return {group: torch.tensor(found, device=device) for group, found in rows.items()}

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
        predicted: List[List[str]],
        gold: torch.Tensor,
        mask: torch.Tensor,
    ) -> None:
        lengths = mask.sum(dim=1).tolist()
        gold_indices = gold.tolist()
        for row, row_task in enumerate(task):
            names = self.heads[self.group_of_task[row_task]].crf.tags
            gold_tags = [names[index] for index in gold_indices[row][: lengths[row]]]
            self.metrics[row_task]([predicted[row]], [gold_tags])
            self._tasks_seen.add(row_task)

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
            for name in ("precision", "recall", "f1"):
                metrics[f"{task}_{name}"] = scores[name]
            types = [key[len("f1-") :] for key in scores if key.startswith("f1-")]
            if len(types) > 1:
                for entity_type in types:
                    metrics[f"_{task}_{entity_type}_f1"] = scores[f"f1-{entity_type}"]
        for name in ("precision", "recall", "f1"):
            metrics[name] = sum(metrics[f"{t}_{name}"] for t in seen) / len(seen) if seen else 0.0
        if reset:
            self._tasks_seen = set()
        return metrics

    default_predictor = "bioner"


def _rows(tensor: torch.Tensor, rows: Optional[torch.LongTensor]) -> torch.Tensor:
    return tensor if rows is None else tensor.index_select(0, rows)


def entity_types(tags: Sequence[str]) -> List[str]:
    """The entity types of a tag vocabulary (B-Disease, I-Disease, O -> [Disease]), sorted; the
    model's span F1 and the exported folder's tagger.json both take them from here."""
    return sorted({tag[2:] for tag in tags if len(tag) > 2 and tag[1] == "-"})


def _coding_scheme_of(tags) -> Optional[str]:
    """The coding scheme a tag vocabulary was written in, when its tags tell: BIOUL marks every
    entity with U- (one word) or L- (its last word), so B-/I- tags without any L-/U- are BIO; a
    vocabulary without entity tags tells nothing (None)."""
    letters = {tag[0] for tag in tags if len(tag) > 2 and tag[1] == "-"}
    if letters & {"L", "U"}:
        return "BIOUL"
    return "BIO" if letters else None
