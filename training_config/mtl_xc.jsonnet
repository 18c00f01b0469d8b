// MTL-XC: one XLNet-CRF shared by every data set of a category (HSL_BIONER_CATEGORY, default
// disease): all tasks in one group, so every parameter, the CRF included, is shared; scores are
// still reported per data set.
local bioner = import 'lib/bioner.libsonnet';
local datasets = import 'lib/datasets.libsonnet';

local category = bioner.setting('CATEGORY');
local tasks = bioner.of_category(datasets.corpora, category);

bioner.experiment(
  tasks=tasks,
  data_root=bioner.setting('DATA'),
  encoder=bioner.encoder(bioner.setting('ENCODER')),
  groups={ [category]: [d.name for d in tasks] },
)
