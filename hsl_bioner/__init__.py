"""hsl-bioner: biomedical NER with hierarchical shared transfer learning, as an AllenNLP plugin.

Importing the package registers its readers, data loader, token embedder, model, predictor and
subcommands with AllenNLP (``--include-package hsl_bioner`` or the ``.allennlp_plugins`` file).
"""
from hsl_bioner import data, models, modules, predictors  # noqa: F401
