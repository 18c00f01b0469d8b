"""Fixtures of the job tests: the tiny exported folder, jobs on it (`job_helpers.FaultyJob`)."""

import sys
from pathlib import Path

import pytest

# The worker processes (spawned: they inherit sys.path) import the stand-in job from here.
HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from job_helpers import FaultyJob  # noqa: E402


@pytest.fixture
def model(tiny_folder) -> str:
    return str(tiny_folder)


@pytest.fixture
def make_job(model, tmp_path):
    def make(output="out", **settings) -> FaultyJob:
        return FaultyJob.create(model, str(tmp_path / output), **settings)

    return make
