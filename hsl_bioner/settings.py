"""Settings the Jsonnet configs read, with their defaults.

AllenNLP hands every environment variable to Jsonnet as an external variable, but `std.extVar`
fails on an unset one and Jsonnet cannot catch that. So the plugin, which AllenNLP imports before
it reads a config, sets the defaults of our own `HSL_BIONER_*` variables (never overwriting what
the user set). This lets `allennlp train training_config/mtl_ls.jsonnet` run as typed, and lets a
user change the data root or the encoder in one place: `HSL_BIONER_ENCODER=... allennlp train ...`.
"""

import os

DEFAULT_SETTINGS = {
    # Folder holding the corpora, one sub-folder per data set (`<folder>/{train,devel,test}.tsv`).
    "HSL_BIONER_DATA": "../shared/data/MTL-Bioinformatics-2016",
    # Hugging Face name or local folder of the encoder.
    "HSL_BIONER_ENCODER": "xlnet-large-cased",
    # Entity category for MTL-XC and MTL-LS: chemical, disease, gene, species.
    "HSL_BIONER_CATEGORY": "disease",
    # The data set STL trains on (a name from training_config/lib/datasets.libsonnet).
    "HSL_BIONER_DATASET": "NCBI-disease",
    # MTL-LS: k / n, the share of encoder layers that all tasks of the category share.
    "HSL_BIONER_SLICING_RATE": "0.5",
    # MTL-LS: the MTL-XC archive whose embeddings and lower layers it starts from.
    "HSL_BIONER_MTL_XC_ARCHIVE": "runs/mtl_xc/model.tar.gz",
}


def apply_default_settings() -> None:
    for name, value in DEFAULT_SETTINGS.items():
        os.environ.setdefault(name, value)
