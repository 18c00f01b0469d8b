"""Settings the Jsonnet configs read, with their defaults.

AllenNLP hands every environment variable to Jsonnet as an external variable, but `std.extVar`
fails on an unset one and Jsonnet cannot catch that. So the plugin, which AllenNLP imports before
it reads a config, sets the defaults of our own `HSL_BIONER_*` variables (never overwriting what
the user set). This lets `allennlp train training_config/mtl_ls.jsonnet` run as typed, and lets a
user change the data root or the encoder in one place: `HSL_BIONER_ENCODER=... allennlp train ...`.

It also reads the user's corpora file (`HSL_BIONER_CORPORA`) and hands its entries to Jsonnet in
`HSL_BIONER_CORPORA_JSON` (see `hsl_bioner.corpora`): that variable is always written by the
plugin, never read from the user.
"""

import os

from hsl_bioner.corpora import CORPORA_JSON, CORPORA_SETTING, corpora_json

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
    # MTL-XC and MTL-LS: the data sets of the run, comma-separated (all of them of
    # HSL_BIONER_CATEGORY); empty: every data set of the category.
    "HSL_BIONER_DATASETS": "",
    # A JSON or Jsonnet file of your own corpora, merged with the built-in list (see
    # hsl_bioner/corpora.py); empty: none.
    CORPORA_SETTING: "",
}


def apply_default_settings() -> None:
    for name, value in DEFAULT_SETTINGS.items():
        os.environ.setdefault(name, value)
    os.environ[CORPORA_JSON] = corpora_json(os.environ[CORPORA_SETTING])
