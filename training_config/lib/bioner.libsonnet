// Building blocks of the hsl-bioner experiments. The top-level configs (stl, mtl_xc, mtl_ls)
// differ only in what they pass to `experiment`: which data sets, how they are grouped, where the
// encoder is split, and what the shared layers are initialised from.
local corpora = import 'corpora.libsonnet';

{
  // A setting from the environment (defaults in hsl_bioner/settings.py).
  setting(name):: std.extVar('HSL_BIONER_' + name),

  // The data sets of `category` in `list`.
  of_category(list, category)::
    local chosen = [d for d in list if d.category == category];
    if std.length(chosen) == 0
    then error 'No data set of category "%s"; categories: %s' % [category, std.join(', ', std.set([d.category for d in list]))]
    else chosen,

  // The data set called `name` in `list`.
  named(list, name)::
    local chosen = [d for d in list if d.name == name];
    if std.length(chosen) == 0
    then error 'No data set "%s"; data sets: %s' % [name, std.join(', ', [d.name for d in list])]
    else chosen[0],

  // The encoder: a Hugging Face name or local folder; pieces beyond max_length are folded.
  encoder(name, max_length=512):: { name: name, max_length: max_length },

  // Optimizer (the paper: AdamW, lr 3e-5, eps 1e-6, no warm-up, layer-wise decay 0.9).
  optimizer(lr=3e-5, head_lr=null):: {
    type: 'bioner_layerwise_adamw',
    lr: lr,
    eps: 1e-6,
    layer_decay: 0.9,
    [if head_lr != null then 'head_lr']: head_lr,
  },

  // MTL-LS: the shared part (embeddings and shared lower layers) from a trained (MTL-XC) archive;
  // everything else keeps its initialisation (upper layers pre-trained, CRFs random).
  shared_layers_from(archive, encoder):: {
    regexes: [
      ['.*', { type: 'bioner_from_archive', archive_file: archive, encoder: encoder.name, part: 'shared' }],
    ],
  },

  // One IOB reader per task: the task's entity types become its category's type (its type_map,
  // see corpora.libsonnet), and its tags go to the vocabulary namespace of its group's head (the
  // reader works it out from the groups).
  reader(dataset, groups, encoder):: {
    type: 'bioner_iob',
    token_indexers: {
      tokens: {
        // The word pieces of AllenNLP's pretrained_transformer_mismatched, by the runtime's rules.
        type: 'bioner_pieces',
        model_name: encoder.name,
        max_length: encoder.max_length,
      },
    },
    type_map: dataset.type_map,
    task: dataset.name,
    groups: groups,
  },

  // A whole experiment.
  //   tasks        data set entries with their type_map (corpora.list, corpora.resolved)
  //   groups       {group: [task names]}: tasks of a group share upper layers and head (MTL-XC)
  //   split        {shared_layers: k} or {slicing_rate: k/n}; {} shares every layer
  //   initializer  e.g. shared_layers_from(...) for MTL-LS
  //   missing_data_help  added to the data loaders' error when data files are absent
  experiment(tasks, data_root, encoder, groups={}, split={}, initializer=null,
             batch_size=6, num_epochs=30, patience=null, optimizer=$.optimizer(),
             max_pieces=4096, seed=13270, missing_data_help=null)::
    local paths(split_name) = { [d.name]: corpora.folder(d, data_root) + '/' + split_name + '.tsv' for d in tasks };
    local help = if missing_data_help != null then { missing_data_help: missing_data_help } else {};
    {
      random_seed: seed,
      numpy_seed: seed,
      pytorch_seed: seed,
      dataset_reader: {
        type: 'multitask',
        readers: { [d.name]: $.reader(d, groups, encoder) for d in tasks },
      },
      train_data_path: paths('train'),
      validation_data_path: paths('devel'),
      test_data_path: paths('test'),
      evaluate_on_test: true,
      // require_all_tasks: a task left out of train_data_path stops training before it starts.
      data_loader: {
        type: 'bioner_mixed_task', batch_size: batch_size, max_pieces: max_pieces, require_all_tasks: true,
      } + help,
      validation_data_loader: {
        type: 'bioner_mixed_task', batch_size: batch_size * 4, max_pieces: max_pieces * 4, shuffle: false,
      } + help,
      model: {
        type: 'bioner_tagger',
        tasks: [d.name for d in tasks],
        groups: groups,
        embedder: { model_name: encoder.name, max_length: encoder.max_length } + split,
        [if initializer != null then 'initializer']: initializer,
      },
      trainer: {
        optimizer: optimizer,
        num_epochs: num_epochs,
        [if patience != null then 'patience']: patience,
        validation_metric: '+f1',
        checkpointer: { keep_most_recent_by_count: 5 },
        callbacks: [
          // No-op unless distributed: lets the test evaluation after training read whole files.
          { type: 'bioner_leave_process_group' },
          // The encoder's config and tokenizer into encoder/, archived by include_in_archive.
          { type: 'bioner_encoder_files' },
        ],
      },
      // The archive loads anywhere: it carries the encoder's files (hsl_bioner/encoder_files.py).
      include_in_archive: ['encoder'],
    },
}
