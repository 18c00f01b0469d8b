"""hsl-bioner-runtime: the torch-free core of hsl-bioner (text, pieces, decoding, formats).

Nothing in this package may import torch, transformers or allennlp: it must install and run on
Python 3.10 to 3.12 with numpy, onnxruntime and tokenizers only. The AllenNLP plugin imports it.
"""

__version__ = "0.1.0"
