// MTL-LS (the paper's method): the encoder split at k = slicing rate x n layers. Embeddings and
// layers [0, k) are shared by the category's data sets and start from the MTL-XC archive
// (HSL_BIONER_MTL_XC_ARCHIVE; train training_config/mtl_xc.jsonnet first); layers [k, n) are one
// pre-trained copy per data set; each data set has its own CRF.
local bioner = import 'lib/bioner.libsonnet';
local datasets = import 'lib/datasets.libsonnet';

local encoder = bioner.encoder(bioner.setting('ENCODER'));

bioner.experiment(
  tasks=bioner.of_category(datasets.corpora, bioner.setting('CATEGORY')),
  data_root=bioner.setting('DATA'),
  encoder=encoder,
  split={ slicing_rate: std.parseJson(bioner.setting('SLICING_RATE')) },
  initializer=bioner.shared_layers_from(bioner.setting('MTL_XC_ARCHIVE'), encoder),
)
