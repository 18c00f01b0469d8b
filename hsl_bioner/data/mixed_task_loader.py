"""A data loader whose batches mix instances of several tasks, bucketed by length."""

import json
import logging
import math
import random
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Union

import torch
import torch.distributed as dist
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import is_distributed, lazy_groups_of
from allennlp.data.batch import Batch
from allennlp.data.data_loaders.data_loader import DataLoader, TensorDict
from allennlp.data.data_loaders.multitask_epoch_sampler import MultiTaskEpochSampler
from allennlp.data.dataset_readers.multitask import MultiTaskDatasetReader
from allennlp.data.instance import Instance
from allennlp.data.samplers.bucket_batch_sampler import add_noise_to_value
from allennlp.data.vocabulary import Vocabulary
from allennlp.nn.util import distributed_device, move_to_device

logger = logging.getLogger(__name__)


@MultiTaskEpochSampler.register("bioner_temperature")
class TemperatureSampler(MultiTaskEpochSampler):
    """Samples task t with probability proportional to ``size_t ** (1 / temperature)``.

    Temperature 1 is proportional sampling, a large temperature tends to uniform; values in between
    up-weight small data sets without starving the large ones.

    Registered as a `MultiTaskEpochSampler` with name "bioner_temperature".

    # Parameters

    temperature : `float`, optional (default = `2.0`)
        Must be positive.
    """

    def __init__(self, temperature: float = 2.0) -> None:
        if temperature <= 0:
            raise ConfigurationError(f"temperature must be positive, got {temperature}.")
        self.temperature = temperature

    def get_task_proportions(self, data_loaders: Mapping[str, object]) -> Dict[str, float]:
        weights = {
            task: len(data) ** (1.0 / self.temperature) for task, data in data_loaders.items()
        }  # type: ignore
        total = sum(weights.values())
        return {task: weight / total for task, weight in weights.items()}


def parse_data_paths(data_path: Union[str, Dict[str, str]], tasks: List[str]) -> Dict[str, str]:
    """Data paths per task, from a dict or from a string.

    A string is one path (allowed when there is a single task) or comma-separated ``TASK=PATH``
    items, so that ``allennlp evaluate`` can score one data set's test file against its own task
    head: ``allennlp evaluate model.tar.gz NCBI-disease=test.tsv``. (``allennlp evaluate`` also
    accepts a JSON object, ``'{"NCBI-disease": "test.tsv"}'``, which arrives here as a dict; JSON
    it cannot parse arrives as a string, cut at its commas.) Errors name the model's tasks and
    show both ways of writing the paths."""
    if isinstance(data_path, Mapping):
        paths = dict(data_path)
    else:
        paths = {}
        for item in str(data_path).split(","):
            task, sep, path = (part.strip() for part in item.partition("="))
            if sep and task in tasks:
                paths[task] = path
            elif _looks_like_json(item):
                raise ConfigurationError(
                    f"{item.strip()!r} is not valid JSON (allennlp evaluate cuts input that is "
                    f"not valid JSON at its commas): this model has tasks {', '.join(tasks)}. "
                    + _how_to_write_paths(tasks)
                )
            elif len(tasks) == 1:
                paths[tasks[0]] = item
            elif sep and task:
                raise ConfigurationError(
                    f"This model has no task {task!r} (in {item.strip()!r}); its tasks are "
                    f"{', '.join(tasks)}. " + _how_to_write_paths(tasks, path)
                )
            else:
                raise ConfigurationError(
                    f"Cannot tell which task '{item}' belongs to: this model has tasks "
                    f"{', '.join(tasks)}. Write TASK=PATH, e.g. {tasks[0]}={item.strip()}, or "
                    + _how_to_write_paths(tasks, item.strip(), items=False)
                )
    unknown = sorted(set(paths) - set(tasks))
    if unknown:
        raise ConfigurationError(
            f"No reader for task(s) {', '.join(unknown)}; the readers are for {', '.join(tasks)} "
            "(the model's tasks)."
        )
    if not paths:
        raise ConfigurationError("No data paths given.")
    return paths


def _looks_like_json(item: str) -> bool:
    """Whether a data-path item is (part of) a JSON object or list rather than a path."""
    item = item.strip()
    return item[:1] in ("{", "[", '"') or item[-1:] in ("}", "]")


def _how_to_write_paths(tasks: List[str], path: str = "PATH", items: bool = True) -> str:
    """How data paths for these tasks are written, as a sentence for an error message."""
    example = json.dumps({task: path if i == 0 else "PATH" for i, task in enumerate(tasks)})
    prefix = f"Write TASK=PATH, e.g. {tasks[0]}={path}, or " if items else ""
    return f"{prefix}a JSON object, e.g. '{example}'."


@DataLoader.register("bioner_mixed_task")
class MixedTaskDataLoader(DataLoader):
    """Reads one file per task with the task's reader and yields batches that mix tasks.

    Within an epoch, instances from all tasks are pooled, sorted by their length in word pieces
    (with noise, so that batches differ between epochs), cut into batches and the batches shuffled:
    little padding, and every batch may hold several tasks; the model runs the shared encoder
    layers once per batch and routes each instance to its own task's upper layers and head.

    What an epoch is: by default, every instance of every task once (tasks contribute in proportion
    to their size). With a `sampler`, an epoch is `instances_per_epoch` instances (default: the
    total size of all tasks) drawn from the tasks in the sampler's proportions; each task's
    instances are cycled through in a fresh random order, so small tasks repeat and large ones are
    seen partially.

    In distributed training each worker reads its own shard of every file (the readers shard with
    `shard_iterable`), so everything above applies to the worker's shard; the workers agree on the
    number of batches of each epoch (see `__iter__`), so that none of their data is skipped.

    Why not AllenNLP's `MultiTaskDataLoader`: it needs a data path for every task (so one data
    set's test file cannot be evaluated alone), its samplers only apply with a fixed epoch size,
    and its schedulers neither bucket by length nor bound a batch's size in pieces. We reuse its
    `MultiTaskDatasetReader` (which stamps the task on each instance) and its epoch samplers.

    Why not AllenNLP's `BucketBatchSampler` / `MaxTokensBatchSampler` for the batches (see
    `_batches`): both measure an instance by ``len()`` of a field, which for the `tokens`
    `TextField` is its number of WORDS, while what a batch costs, and what `max_pieces` bounds,
    is its word PIECES after padding (the indexer's ``token_ids`` padding length; a word is one
    piece or many). `MaxTokensBatchSampler` also has no `batch_size` cap (it passes -1), shuffles
    its batches even when `shuffle` is false (validation), and yields an empty first batch when
    the shortest instance alone exceeds `max_tokens`. Its budget rule is the one used here
    (longest instance x instances, padding included), and so is the samplers' length noise
    (`add_noise_to_value`, reused) and grouping (`lazy_groups_of`, reused).

    Registered as a `DataLoader` with name "bioner_mixed_task".

    # Parameters

    reader : `MultiTaskDatasetReader`
        One reader per task (`"type": "multitask"`).
    data_path : `Union[str, Dict[str, str]]`
        Task -> file; or a string, see `parse_data_paths`. Tasks without a path are not read
        (unless `require_all_tasks`).
    batch_size : `int`, optional (default = `8`)
        Maximum number of instances in a batch.
    max_pieces : `int`, optional (default = `None`)
        If given, a batch also holds at most this many word pieces counting padding (instances x
        longest instance), which bounds memory whatever the input: a very long sentence gets a
        batch of its own (its pieces are folded into segments by the encoder).
    sampler : `MultiTaskEpochSampler`, optional (default = `None`)
        "uniform", "proportional", "weighted" (AllenNLP's) or "bioner_temperature"; see above.
    instances_per_epoch : `int`, optional (default = `None`)
        Epoch size when a sampler is given (over all workers in distributed training).
    padding_noise : `float`, optional (default = `0.1`)
        Relative noise added to lengths before sorting (0 when `shuffle` is false).
    shuffle : `bool`, optional (default = `True`)
        Shuffle instances and batches; set false for validation and evaluation.
    require_all_tasks : `bool`, optional (default = `False`)
        If true, every task that has a reader must have a data path. Set it on the training
        `data_loader` (the configs in `training_config/` do), so that a task left out of
        `train_data_path` stops `allennlp train` before the first epoch instead of leaving that
        task's layers untrained; leave it false where one task's file may be read alone
        (validation, `allennlp evaluate`).
    missing_data_help : `str`, optional (default = `None`)
        A sentence added to the error when files are absent, saying where the corpora are
        published and how to choose the data of a run (the configs in `training_config/` name
        their settings); ``{present}`` in it becomes the comma-separated tasks whose files are
        present.
    cuda_device : `Union[int, str, torch.device]`, optional (default = `None`)
        Set by the trainer; not usually given in a config.

    Every local data file is checked when the loader is made, before anything is read (AllenNLP
    makes the training, validation and test loaders before it reads any of them): absent files
    are a `ConfigurationError` that lists every absent file with its task (and names the missing
    folder), so that a multi-task run never starts on fewer data sets than configured.
    """

    def __init__(
        self,
        reader: MultiTaskDatasetReader,
        data_path: Union[str, Dict[str, str]],
        batch_size: int = 8,
        max_pieces: Optional[int] = None,
        sampler: Optional[MultiTaskEpochSampler] = None,
        instances_per_epoch: Optional[int] = None,
        padding_noise: float = 0.1,
        shuffle: bool = True,
        require_all_tasks: bool = False,
        missing_data_help: Optional[str] = None,
        cuda_device: Optional[Union[int, str, torch.device]] = None,
    ) -> None:
        if not isinstance(reader, MultiTaskDatasetReader):
            raise ConfigurationError(
                "The bioner_mixed_task data loader needs a 'multitask' dataset reader "
                "(one reader per task)."
            )
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {batch_size}.")
        if instances_per_epoch is not None and sampler is None:
            raise ConfigurationError("instances_per_epoch needs a sampler (e.g. 'proportional').")
        self.readers = reader.readers
        self.data_paths = parse_data_paths(data_path, list(self.readers))
        missing = [task for task in self.readers if task not in self.data_paths]
        if require_all_tasks and missing:
            raise ConfigurationError(
                f"No data path for task(s) {', '.join(missing)}, which have a reader (this data "
                f"loader has require_all_tasks, as for training): add "
                f"{' and '.join(repr(task) for task in missing)} to the data paths "
                "(train_data_path), or remove them from dataset_reader.readers and model.tasks."
            )
        _check_data_files(self.data_paths, missing_data_help)
        self.batch_size = batch_size
        self.max_pieces = max_pieces
        self.sampler = sampler
        self.instances_per_epoch = instances_per_epoch
        self.padding_noise = padding_noise if shuffle else 0.0
        self.shuffle = shuffle
        self.cuda_device: Optional[torch.device] = None
        if cuda_device is not None:
            self.cuda_device = (
                torch.device(cuda_device)
                if not isinstance(cuda_device, torch.device)
                else cuda_device
            )
        self._vocab: Optional[Vocabulary] = None
        self._instances: Optional[Dict[str, List[Instance]]] = None
        self._cycles: Dict[str, Iterator[Instance]] = {}

    # --- reading -----------------------------------------------------------------------------

    def _read(self) -> Dict[str, List[Instance]]:
        if self._instances is None:
            self._instances = {}
            for task, path in self.data_paths.items():
                instances = list(self.readers[task].read(path))
                shard = ""
                if is_distributed():
                    shard = (
                        f" (worker {dist.get_rank()} of {dist.get_world_size()}: its shard, one "
                        f"sentence in {dist.get_world_size()})"
                    )
                if not instances:
                    raise ConfigurationError(
                        f"Task '{task}' has no instances in {path}{shard}: give it a file with "
                        "sentences (and in distributed training at least one per worker)."
                    )
                logger.info("Task %s: %d instances from %s%s", task, len(instances), path, shard)
                self._instances[task] = instances
            if self._vocab is not None:
                self._index_all()
        return self._instances

    def _index_all(self) -> None:
        assert self._instances is not None and self._vocab is not None
        for task, instances in self._instances.items():
            for instance in instances:
                try:
                    instance.index_fields(self._vocab)
                except KeyError as error:
                    # MultiTaskDatasetReader wraps each reader in a shim that holds it as `inner`.
                    task_reader = getattr(self.readers[task], "inner", self.readers[task])
                    namespace = getattr(task_reader, "label_namespace", None)
                    raise ConfigurationError(
                        _unknown_label_message(task, instance, self._vocab, namespace, error)
                    ) from None

    def iter_instances(self) -> Iterator[Instance]:
        for instances in self._read().values():
            yield from instances

    def index_with(self, vocab: Vocabulary) -> None:
        self._vocab = vocab
        if self._instances is not None:
            self._index_all()

    def set_target_device(self, device: torch.device) -> None:
        self.cuda_device = device

    # --- batching ----------------------------------------------------------------------------

    def _epoch_instances(self) -> List[Instance]:
        data = self._read()
        if self.sampler is None:
            return [instance for instances in data.values() for instance in instances]
        proportions = self.sampler.get_task_proportions(data)  # type: ignore[arg-type]
        total = sum(proportions.values())
        size = self._epoch_size()
        epoch: List[Instance] = []
        for task, proportion in proportions.items():
            count = math.floor(proportion * size / total)
            epoch.extend(next(self._cycle(task)) for _ in range(count))
        return epoch

    def _cycle(self, task: str) -> Iterator[Instance]:
        if task not in self._cycles:

            def endless() -> Iterator[Instance]:
                instances = list(self._read()[task])
                while True:
                    if self.shuffle:
                        random.shuffle(instances)
                    yield from instances

            self._cycles[task] = endless()
        return self._cycles[task]

    @staticmethod
    def _num_pieces(instance: Instance) -> int:
        lengths = instance.fields["tokens"].get_padding_lengths()
        piece_keys = [key for key in lengths if key.endswith("token_ids")]
        return (
            max(lengths[key] for key in piece_keys)
            if piece_keys
            else lengths.get("tokens___tokens", 0)
        )

    def _batches(self, instances: List[Instance]) -> List[List[Instance]]:
        """Sorted by noisy length in pieces, cut at `batch_size` instances or `max_pieces`
        pieces (padding included), shuffled; why not AllenNLP's samplers: see the class."""
        keyed = [
            (add_noise_to_value(self._num_pieces(instance), self.padding_noise), i)
            for i, instance in enumerate(instances)
        ]
        order = [i for _, i in sorted(keyed)]
        if self.max_pieces is None:
            batches = [list(group) for group in lazy_groups_of(order, self.batch_size)]
        else:
            batches, current, longest = [], [], 0
            for i in order:
                length = self._num_pieces(instances[i])
                grown = max(longest, length)
                if current and (
                    len(current) == self.batch_size or grown * (len(current) + 1) > self.max_pieces
                ):
                    batches.append(current)
                    current, grown = [], length
                current.append(i)
                longest = grown
            if current:
                batches.append(current)
        if self.shuffle:
            random.shuffle(batches)
        return [[instances[i] for i in batch] for batch in batches]

    def _epoch_size(self) -> int:
        """Instances per epoch (of this worker, in distributed training)."""
        if self.sampler is not None and self.instances_per_epoch is not None:
            # The configured size is the whole epoch's: each worker draws its share (otherwise
            # an epoch of N workers would hold N x instances_per_epoch instances).
            world_size = dist.get_world_size() if is_distributed() else 1
            return math.ceil(self.instances_per_epoch / world_size)
        return sum(len(instances) for instances in self._read().values())

    def __len__(self) -> int:
        # Exact without a piece budget; with one, the count depends on the noisy sort, and this
        # lower bound is what the learning-rate schedulers and progress bars get. In distributed
        # training it counts this worker's shard (read in the worker), which is what each
        # worker's trainer steps through.
        return math.ceil(self._epoch_size() / self.batch_size)

    def __iter__(self) -> Iterator[TensorDict]:
        if self._vocab is None:
            raise ValueError("index_with(vocab) must be called before iterating over batches.")
        device = -1 if self.cuda_device is None else self.cuda_device
        batches = self._batches(self._epoch_instances())
        if is_distributed():
            batches = _equalise_across_workers(batches)
        for batch in batches:
            yield move_to_device(Batch(batch).as_tensor_dict(), device)


def _check_data_files(data_paths: Mapping[str, str], help_text: Optional[str]) -> None:
    """Raises a `ConfigurationError` listing every absent local file of `data_paths`."""
    # URLs (and whatever else cached_path fetches) are the reader's to find.
    absent = {
        task: str(path)
        for task, path in data_paths.items()
        if "://" not in str(path) and not Path(path).is_file()
    }
    if not absent:
        return
    lines = [
        f"Data files absent for {len(absent)} of the {len(data_paths)} task(s); nothing was read:"
    ]
    lines += [f"  {task}: {path} ({_what_is_absent(Path(path))})" for task, path in absent.items()]
    present = [task for task in data_paths if task not in absent]
    if present:
        lines.append(f"Present: {', '.join(present)}.")
    if help_text:
        lines.append(help_text.replace("{present}", ",".join(present)))
    raise ConfigurationError("\n".join(lines))


def _what_is_absent(path: Path) -> str:
    folder = path.parent
    if folder.is_dir():
        return f"folder {folder} has no {path.name}"
    if folder.parent.is_dir():
        return f"no folder {folder.name} in {folder.parent}"
    return f"no folder {folder.parent}"


def _equalise_across_workers(batches: List[List[Instance]]) -> List[List[Instance]]:
    """Makes every distributed worker yield the same number of batches.

    Shards differ by up to one instance per task, and bucketing by length can turn that into
    different numbers of batches. AllenNLP's trainer then stops every worker when the first one
    runs out ("finishing training early"), skipping the others' last batches: training data go
    unused and, worse, validation metrics leave sentences out. So the workers agree on the largest
    count (one all-reduce per epoch: all workers iterate their loaders together, for training and
    for validation), and a worker with fewer batches halves its biggest ones until it has as many.
    Nothing is repeated or dropped, so metrics summed over the workers cover each sentence once.
    """
    count = torch.tensor(len(batches), device=distributed_device())
    dist.all_reduce(count, op=dist.ReduceOp.MAX)
    target = int(count.item())
    batches = list(batches)
    while len(batches) < target:
        biggest = max(range(len(batches)), key=lambda i: len(batches[i]), default=None)
        if biggest is None or len(batches[biggest]) < 2:
            logger.warning(
                "Worker %d has %d instances for %d batches: the trainer will skip the other "
                "workers' last batches this epoch.",
                dist.get_rank(),
                sum(len(batch) for batch in batches),
                target,
            )
            break
        batch = batches[biggest]
        half = len(batch) // 2
        batches[biggest : biggest + 1] = [batch[:half], batch[half:]]
    return batches


def _unknown_label_message(
    task: str,
    instance: Instance,
    vocab: Vocabulary,
    namespace: Optional[str],
    error: KeyError,
) -> str:
    """Says where the first tag the model never saw in training is (``path:line`` of the tag:
    the sentence's ``source`` is the line of its first token, and a sentence's tokens are on
    consecutive lines), and what to do. `namespace` is the tags' namespace, as the task's reader
    (`bioner_iob`: its public ``label_namespace``) writes them; None when the reader does not
    say (only the error's text is reported then)."""
    metadata = instance.fields["metadata"].metadata if "metadata" in instance.fields else {}
    field = instance.fields.get("tags")
    labels = list(getattr(field, "labels", []))
    known = vocab.get_token_to_index_vocabulary(namespace) if namespace else {}
    position = next((i for i, label in enumerate(labels) if known and label not in known), None)
    where = metadata.get("source", "a sentence")
    what = str(error)
    if position is not None:
        path, _, first_line = where.rpartition(":")
        if path and first_line.isdigit():
            where = f"{path}:{int(first_line) + position}"
        words = metadata.get("words") or []
        word = f" on the word {words[position]!r}" if position < len(words) else ""
        what = f"{labels[position]!r}{word}"
    return (
        f"{where}: task '{task}' has a tag the model never saw in training ({what}); the model "
        f"knows {sorted(known)}. Map the entity type to a known one with the reader's type_map, "
        "or to 'O' to ignore it."
    )
