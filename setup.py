"""Installs the hsl-bioner AllenNLP plugin.

The stack is pinned to the last AllenNLP release and what works with it: allennlp 2.10.1 needs
torch 1.12 and transformers < 4.21, which have no wheels for Python 3.11+, and numpy 2 breaks
torch 1.12 and spaCy at import time.
"""
import sys

from setuptools import find_packages, setup

if sys.version_info[:2] != (3, 10):
    sys.exit(
        f"hsl-bioner needs Python 3.10 (found {sys.version_info[0]}.{sys.version_info[1]}): "
        "allennlp 2.10.1 pins torch 1.12 and transformers < 4.21, which have no wheels for "
        "Python 3.11 or newer. Create the environment with a Python 3.10 interpreter, e.g. "
        "`make venv PYTHON310=/path/to/python3.10`."
    )

setup(
    name="hsl-bioner",
    version="0.1.0",
    description=(
        "Biomedical named-entity recognition with hierarchical shared transfer learning "
        "(XLNet-CRF, MTL-LS) as an AllenNLP plugin"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["hsl_bioner", "hsl_bioner.*"]),
    python_requires=">=3.10,<3.11",
    install_requires=[
        # The torch-free core (text, pieces, decoding, entities, formats): ./runtime, installed
        # first by `make venv`.
        "hsl-bioner-runtime==0.1.0",
        # Not allennlp-models: the plugin does not use it, and AllenNLP imports every installed
        # allennlp-models module at the start of each command, one of which tries (and offline
        # fails, printing "[nltk_data] Error loading punkt") to download nltk data. It is the
        # benchmarks' peer only: the "peer" extra.
        "allennlp==2.10.1",
        "torch>=1.10,<1.13",
        "transformers>=4.1,<4.21",
        "numpy<2",
        # google-api-core 2.26+ warns at import, on every `allennlp` command, that Python 3.10
        # is no longer supported (allennlp imports google-cloud-storage); 2.28+ is required by
        # google-cloud-core 2.5+.
        "google-api-core<2.26",
        "google-cloud-core<2.5",
        "sentencepiece",
        "safetensors",
        "jsonnet",
        # The pictures of `allennlp bioner-analyze`; scipy lays out its Euler diagrams.
        "matplotlib",
        "scipy",
        # `allennlp bioner-export` and `--backend onnx` (onnx 1.17 is the last with numpy 1 wheels).
        "onnx>=1.15,<1.18",
        "onnxruntime>=1.16",
    ],
    extras_require={
        # pytest-xdist: `make test` runs the plugin's tests on two processes (CI has 2 cores).
        "dev": ["pytest", "pytest-xdist>=3.3", "hypothesis", "ruff"],
        # allennlp-models' crf_tagger, the peer of benchmarks/quality.py and prediction_speed.py.
        "peer": ["allennlp-models==2.10.1"],
    },
)
