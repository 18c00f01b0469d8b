// STL: XLNet-CRF fine-tuned on one data set (HSL_BIONER_DATASET, default NCBI-disease).
// Settings (environment variables, defaults in hsl_bioner/settings.py): HSL_BIONER_DATA,
// HSL_BIONER_ENCODER, HSL_BIONER_DATASET, HSL_BIONER_CORPORA (your own corpora); anything else
// with -o, e.g. -o '{"trainer.num_epochs": 3}'.
local bioner = import 'lib/bioner.libsonnet';
local corpora = import 'lib/corpora.libsonnet';

bioner.experiment(
  tasks=[bioner.named(corpora.list, bioner.setting('DATASET'))],
  data_root=bioner.setting('DATA'),
  encoder=bioner.encoder(bioner.setting('ENCODER')),
  missing_data_help=corpora.missing_data_help(bioner.setting('DATA')),
)
