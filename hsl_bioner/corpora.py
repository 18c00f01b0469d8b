"""Your own corpora without editing the package: the file named by ``HSL_BIONER_CORPORA``.

The file (JSON or Jsonnet) lists corpora with the fields of the built-in entries in
``training_config/lib/datasets.libsonnet``, plus the unified entity type of any new category::

    {
      "corpora": [
        {"name": "my-cells-a", "folder": "/data/cells_a", "category": "cell",
         "entity_type": "Cell"},
        {"name": "my-cells-b", "folder": "cells_b", "category": "cell",
         "entity_type": ["CellLine", "CellType"], "other_types": ["Tissue"]}
      ],
      "category_types": {"cell": "Cell"}
    }

A ``folder`` is absolute or relative to the data root (``HSL_BIONER_DATA``), as for the built-in
corpora. A Jsonnet file can read the environment with ``std.extVar``, as AllenNLP configs can.

Jsonnet cannot import a file whose path is in a variable, and AllenNLP hands Jsonnet only the
environment variables. So the plugin, when imported (which AllenNLP does before it reads a
config), reads the file, checks the shape of every entry here (the messages name the file and
the entry), and puts the entries as JSON into ``HSL_BIONER_CORPORA_JSON``, which
``training_config/lib/corpora.libsonnet`` merges with the built-in list (checking the names and
types against it). A file that cannot be used is not an error at import time, which would stop
every command (``allennlp predict`` needs no corpus list): it is handed over as
``{"error": ...}`` and the configs that use the corpus list fail with that message.
"""

import json
import os
import re
from typing import Any, Dict, List

from allennlp.common.checks import ConfigurationError
from allennlp.common.params import evaluate_file

from hsl_bioner_runtime.tag_schemes import check_entity_type

# The setting that names the file, and the variable that hands its contents to Jsonnet.
CORPORA_SETTING = "HSL_BIONER_CORPORA"
CORPORA_JSON = "HSL_BIONER_CORPORA_JSON"

REQUIRED_FIELDS = ("name", "folder", "category", "entity_type")
OPTIONAL_FIELDS = ("other_types",)
TOP_LEVEL_KEYS = ("corpora", "category_types")
# Names of data sets and categories: task and group names (a group name must not hold '.'),
# items of HSL_BIONER_DATASETS (','), `allennlp evaluate TASK=PATH` ('='), folder names ('/').
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def read_user_corpora(path: str) -> Dict[str, Any]:
    """The checked contents of the corpora file at `path`: ``{"file": path, "corpora": [...],
    "category_types": {...}}``. Raises `ConfigurationError` for a file that cannot be used."""
    if not os.path.isfile(path):
        raise ConfigurationError(
            f"{CORPORA_SETTING}={path}: no such file (a JSON or Jsonnet file of corpora, see "
            "the README)."
        )
    try:
        contents = json.loads(evaluate_file(path, ext_vars=dict(os.environ)))
    except (RuntimeError, ValueError) as error:
        raise ConfigurationError(
            f"{CORPORA_SETTING}={path}: not valid JSON or Jsonnet: {error}"
        ) from None
    where = f"{CORPORA_SETTING}={path}"
    if not isinstance(contents, dict):
        raise ConfigurationError(f'{where}: expected an object {{"corpora": [...]}}.')
    unknown = sorted(set(contents) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(TOP_LEVEL_KEYS)}."
        )
    corpora = contents.get("corpora")
    if not isinstance(corpora, list) or not corpora:
        raise ConfigurationError(f'{where}: "corpora" must be a non-empty list of corpora.')
    entries = [_check_entry(entry, f"{where}: corpus {i}") for i, entry in enumerate(corpora, 1)]
    names = [entry["name"] for entry in entries]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigurationError(f"{where}: corpus names used twice: {', '.join(twice)}.")
    category_types = contents.get("category_types", {})
    if not isinstance(category_types, dict):
        raise ConfigurationError(f'{where}: "category_types" must map categories to types.')
    for category, entity_type in category_types.items():
        _check_name(category, f"{where}: category_types")
        try:
            check_entity_type(entity_type)
        except ValueError as error:
            raise ConfigurationError(f"{where}: category_types[{category!r}]: {error}") from None
    return {"file": path, "corpora": entries, "category_types": category_types}


def corpora_json(path: str) -> str:
    """What ``HSL_BIONER_CORPORA_JSON`` holds for the setting's value `path` ('' for none)."""
    if not path:
        return json.dumps({"file": None, "corpora": [], "category_types": {}})
    try:
        return json.dumps(read_user_corpora(path))
    except ConfigurationError as error:
        return json.dumps({"error": str(error)})


def _check_entry(entry: Any, where: str) -> Dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: expected an object, got {entry!r}.")
    if isinstance(entry.get("name"), str):
        where = f"{where} ({entry['name']})"
    missing = [field for field in REQUIRED_FIELDS if field not in entry]
    if missing:
        raise ConfigurationError(f"{where}: missing field(s) {', '.join(missing)}.")
    unknown = sorted(set(entry) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown field(s) {', '.join(unknown)}; fields: "
            f"{', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}."
        )
    _check_name(entry["name"], f"{where}: name")
    _check_name(entry["category"], f"{where}: category")
    if not isinstance(entry["folder"], str) or not entry["folder"]:
        raise ConfigurationError(f"{where}: folder must be a non-empty string (a path).")
    entity_types = _types(entry["entity_type"], f"{where}: entity_type")
    if not entity_types:
        raise ConfigurationError(f"{where}: entity_type must name at least one type.")
    other_types = _types(entry.get("other_types", []), f"{where}: other_types")
    both = sorted(set(entity_types) & set(other_types))
    if both:
        raise ConfigurationError(
            f"{where}: {', '.join(both)} both in entity_type and in other_types."
        )
    return dict(entry)


def _types(value: Any, where: str) -> List[str]:
    types = [value] if isinstance(value, str) else value
    if not isinstance(types, list):
        raise ConfigurationError(f"{where}: a type or a list of types, not {value!r}.")
    for entity_type in types:
        try:
            check_entity_type(entity_type)
        except ValueError as error:
            raise ConfigurationError(f"{where}: {error}") from None
    return types


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigurationError(
            f"{where}: {name!r} is not a valid name (letters, digits, '-' and '_', starting "
            "with a letter or digit)."
        )
