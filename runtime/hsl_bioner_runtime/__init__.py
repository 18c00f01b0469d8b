"""hsl-bioner-runtime: the torch-free core of hsl-bioner (text, pieces, decoding, formats) and the
tagger of exported folders (`Tagger`).

Nothing in this package may import torch, transformers or allennlp: it must install and run on
Python 3.10 to 3.12 with numpy, onnxruntime and tokenizers only. The AllenNLP plugin imports it.
"""

__version__ = "0.1.0"

__all__ = ["Tagger"]


def __getattr__(name: str):
    # `Tagger` is imported on first use: the plugin imports the core's modules (text, pieces, ...)
    # through this package and need not load onnxruntime.
    if name == "Tagger":
        from hsl_bioner_runtime.tagger import Tagger

        return Tagger
    raise AttributeError(f"module 'hsl_bioner_runtime' has no attribute {name!r}")
