"""Fixtures of the job tests: the stand-in model folder and job (`job_helpers`)."""

import sys
from pathlib import Path

import pytest

# The worker processes (spawned: they inherit sys.path) import the stand-in job from here.
HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from job_helpers import FakeJob, fake_model_folder  # noqa: E402


@pytest.fixture
def model(tmp_path) -> str:
    return fake_model_folder(tmp_path / "model")


@pytest.fixture
def make_job(model, tmp_path):
    def make(output="out", **settings) -> FakeJob:
        return FakeJob.create(model, str(tmp_path / output), **settings)

    return make
