// STL: XLNet-CRF fine-tuned on one data set (HSL_BIONER_DATASET, default NCBI-disease).
// Settings (environment variables, defaults in hsl_bioner/settings.py): HSL_BIONER_DATA,
// HSL_BIONER_ENCODER, HSL_BIONER_DATASET; anything else with -o, e.g. -o '{"trainer.num_epochs": 3}'.
local bioner = import 'lib/bioner.libsonnet';
local datasets = import 'lib/datasets.libsonnet';

bioner.experiment(
  tasks=[bioner.named(datasets.corpora, bioner.setting('DATASET'))],
  data_root=bioner.setting('DATA'),
  encoder=bioner.encoder(bioner.setting('ENCODER')),
)
