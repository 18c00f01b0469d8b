// MTL-XC: one XLNet-CRF shared by every data set of a category (HSL_BIONER_CATEGORY, default
// disease; HSL_BIONER_DATASETS keeps only some of them): all tasks in one group, so every
// parameter, the CRF included, is shared; scores are still reported per data set.
local bioner = import 'lib/bioner.libsonnet';
local corpora = import 'lib/corpora.libsonnet';

local category = bioner.setting('CATEGORY');
local tasks = corpora.of_run(corpora.list, category, bioner.setting('DATASETS'));

bioner.experiment(
  tasks=tasks,
  data_root=bioner.setting('DATA'),
  encoder=bioner.encoder(bioner.setting('ENCODER')),
  groups={ [category]: [d.name for d in tasks] },
  missing_data_help=corpora.missing_data_help(bioner.setting('DATA')),
)
