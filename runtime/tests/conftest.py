"""Tests of the runtime run without torch, transformers or allennlp installed.

Exported folders for the tests are built by `folders.make_folder` (this directory is on the
import path: pytest.ini's ``pythonpath``)."""
from pathlib import Path

import pytest
from folders import make_folder


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """A valid exported folder (`make_folder`'s defaults: tiny BERT tokenizer, tasks disease_a,
    disease_b and chem_a, each its own group), built once per session. Do not modify it: copy it,
    or build another with `make_folder`."""
    return make_folder(tmp_path_factory.mktemp("exported") / "tiny")
