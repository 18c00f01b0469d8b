"""The paper's data-level analysis: how the entity strings of the training data (T), of the test
gold standard (L) and of the predictions (P) overlap, as five ratios, and the pictures of them.

Modules by role:

- `sets`: entity strings and the set computation (pure functions, no I/O): the ratios, the one
  table of the seven regions (`REGIONS`), `analyse_sets`;
- `spec`: what each data set reads (`DatasetSpec`, `load_spec` for JSON/Jsonnet spec files);
- `inputs`: reading gold IOB files and predictions files, their tag scheme, and the check that
  predictions are of the test sentences;
- `tagging`: tagging the test sentences with a model archive (the model's own forward pass);
- `run`: `analyze`, which reads a data set's files and computes its sets;
- `report`: the text table and the JSON;
- `euler` (layout) and `plots` (PNG pictures): the Euler diagrams and the radar chart.

The `allennlp bioner-analyze` subcommand (`hsl_bioner.commands.analyze`) parses its arguments and
calls these.
"""
from hsl_bioner.analysis.sets import (  # noqa: F401
    NORMALISATIONS,
    RATIOS,
    REGIONS,
    SETS,
    Region,
    SetAnalysis,
    analyse_sets,
    entity_string,
    entity_strings,
    entity_strings_by_type,
    normalise_entity,
)
