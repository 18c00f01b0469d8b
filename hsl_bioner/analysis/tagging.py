"""Tagging the test sentences with an archived model, for `bioner-analyze --archive`."""
from typing import List, Optional, Sequence, Tuple

from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm
from allennlp.data.dataset_readers import MultiTaskDatasetReader
from allennlp.models.archival import Archive

from hsl_bioner.analysis.inputs import Tagged, detect_scheme
from hsl_bioner_runtime.tag_schemes import normalize_scheme


def predict_with_archive(
    archive: Archive,
    sentences: Sequence[List[str]],
    task: Optional[str] = None,
    dataset_name: Optional[str] = None,
    batch_size: int = 32,
) -> Tuple[List[Tagged], str]:
    """Tags ``sentences`` (lists of words) with an archived model; returns their ``(words, tags)``
    and the tag scheme of the tags (the model's ``label_encoding``, else detected).

    The instances are made by the archive's validation reader and tagged by the model's own
    `forward_on_instances` (its `forward` and `make_output_human_readable`), so the tags are
    those that `allennlp evaluate --predictions-output-file` writes.

    # Parameters

    archive : `Archive`
        From `load_archive`.
    sentences : `Sequence[List[str]]`
        The test sentences' words.
    task : `str`, optional
        The task head to use, for a `multitask` reader; default: the only task, or the task named
        ``dataset_name``.
    dataset_name : `str`, optional
        Used to find the task when ``task`` is not given.
    batch_size : `int`, optional (default = `32`)
        Sentences per batch (sorted by length, so batches have little padding).
    """
    model = archive.model
    model.eval()
    reader = archive.validation_dataset_reader
    if isinstance(reader, MultiTaskDatasetReader):
        tasks = sorted(reader.readers)
        if task is None:
            if len(tasks) == 1:
                task = tasks[0]
            elif dataset_name in reader.readers:
                task = dataset_name
            else:
                raise ConfigurationError(
                    f"The archive has the tasks {', '.join(tasks)}: say which one is data set "
                    f"{dataset_name!r} with --task (or \"task\" in the spec)."
                )
        if task not in reader.readers:
            raise ConfigurationError(
                f"The archive has no task {task!r}; its tasks: {', '.join(tasks)}."
            )
        reader = reader.readers[task]
    elif task is not None and getattr(model, "tasks", [task]) != [task]:
        raise ConfigurationError(f"The archive's model has no task {task!r}.")
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    tags: List[Optional[List[str]]] = [None] * len(sentences)
    starts = range(0, len(order), batch_size)
    for start in Tqdm.tqdm(starts, desc="tagging", total=len(starts)):
        rows = order[start : start + batch_size]
        instances = []
        for row in rows:
            instance = reader.text_to_instance(sentences[row])
            reader.apply_token_indexers(instance)
            instances.append(instance)
        for row, output in zip(rows, model.forward_on_instances(instances)):
            tags[row] = list(output["tags"])
    tagged = [(list(words), row_tags) for words, row_tags in zip(sentences, tags)]
    encoding = getattr(model, "label_encoding", None)
    return tagged, normalize_scheme(encoding) if encoding else detect_scheme(tagged)
