"""Tasks, their groups and the vocabulary namespace of a group's tags: the one place these rules
live, used by the readers (which write the tags) and by the model (which reads them)."""

from typing import Dict, Mapping, Sequence

from allennlp.common.checks import ConfigurationError


def label_namespace(group: str) -> str:
    """The vocabulary namespace of a group's tags."""
    return f"{group}_labels"


def group_of(task: str, groups: Mapping[str, Sequence[str]]) -> str:
    """The group that lists `task`; a task in no group forms a group of its own, named after it."""
    return next((group for group, members in groups.items() if task in members), task)


def group_tasks(tasks: Sequence[str], groups: Mapping[str, Sequence[str]]) -> Dict[str, str]:
    """Task -> group for every task; raises `ConfigurationError` for a group that lists a task not
    in `tasks`, or a task listed in two groups."""
    seen: Dict[str, str] = {}
    for group, members in groups.items():
        for task in members:
            if task not in tasks:
                raise ConfigurationError(
                    f"Group '{group}' lists '{task}', which is not among the tasks "
                    f"({', '.join(tasks)})."
                )
            if task in seen:
                raise ConfigurationError(
                    f"Task '{task}' is in two groups: '{seen[task]}' and '{group}'."
                )
            seen[task] = group
    return {task: group_of(task, groups) for task in tasks}
