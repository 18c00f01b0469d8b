// MTL-LS (the paper's method): the encoder split at k = slicing rate x n layers. Embeddings and
// layers [0, k) are shared by the category's data sets (HSL_BIONER_CATEGORY; HSL_BIONER_DATASETS
// keeps only some of them) and start from the MTL-XC archive (HSL_BIONER_MTL_XC_ARCHIVE; train
// training_config/mtl_xc.jsonnet first); layers [k, n) are one pre-trained copy per data set;
// each data set has its own CRF.
local bioner = import 'lib/bioner.libsonnet';
local corpora = import 'lib/corpora.libsonnet';

local encoder = bioner.encoder(bioner.setting('ENCODER'));

bioner.experiment(
  tasks=corpora.of_run(corpora.list, bioner.setting('CATEGORY'), bioner.setting('DATASETS')),
  data_root=bioner.setting('DATA'),
  encoder=encoder,
  split={ slicing_rate: std.parseJson(bioner.setting('SLICING_RATE')) },
  initializer=bioner.shared_layers_from(bioner.setting('MTL_XC_ARCHIVE'), encoder),
  missing_data_help=corpora.missing_data_help(bioner.setting('DATA')),
)
