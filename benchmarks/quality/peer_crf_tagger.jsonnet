// The peer of benchmarks/quality.py: allennlp-models' `crf_tagger` (a transformer + linear-chain
// CRF tagger, the standard AllenNLP recipe) on ONE data set (STL), with the
// `pretrained_transformer_mismatched` embedder on the same encoder as our model, the same IOB
// reader (hsl-bioner's `bioner_iob`, so the same sentences, tags and type mapping), seeds, batch
// size, epochs and learning rates as our STL runs in the benchmark. Differences, kept on purpose
// because they are the peer's standard behaviour: one learning rate for the whole encoder (no
// layer-wise decay) and AllenNLP's plain bucket data loader.
//
// Settings as for training_config/stl.jsonnet (environment variables, defaults in
// hsl_bioner/settings.py): HSL_BIONER_DATA, HSL_BIONER_ENCODER, HSL_BIONER_DATASET (a built-in
// corpus or one of HSL_BIONER_CORPORA). Needs the
// allennlp-models tagging package only (importing all of allennlp_models tries nltk downloads):
//
//   HSL_BIONER_ENCODER=models/all-MiniLM-L6-v2 allennlp train \
//     benchmarks/quality/peer_crf_tagger.jsonnet -s runs/peer --include-package allennlp_models.tagging
local bioner = import '../../training_config/lib/bioner.libsonnet';
local corpora = import '../../training_config/lib/corpora.libsonnet';

local dataset = bioner.named(corpora.list, bioner.setting('DATASET'));
local encoder = bioner.encoder(bioner.setting('ENCODER'));
local folder = corpora.folder(dataset, bioner.setting('DATA')) + '/';
local seed = 13270;  // as training_config/lib/bioner.libsonnet
local transformer = {
  type: 'pretrained_transformer_mismatched',
  model_name: encoder.name,
  max_length: encoder.max_length,
};

{
  random_seed: seed,
  numpy_seed: seed,
  pytorch_seed: seed,
  dataset_reader: {
    type: 'bioner_iob',
    token_indexers: { tokens: transformer },
    type_map: dataset.type_map,
  },
  train_data_path: folder + 'train.tsv',
  validation_data_path: folder + 'devel.tsv',
  test_data_path: folder + 'test.tsv',
  evaluate_on_test: true,
  data_loader: { batch_sampler: { type: 'bucket', batch_size: 16 } },
  validation_data_loader: { batch_sampler: { type: 'bucket', batch_size: 64, shuffle: false } },
  model: {
    type: 'crf_tagger',
    // Word vectors read at each word's first piece, as ours (the paper's "label gather").
    text_field_embedder: { token_embedders: { tokens: transformer { sub_token_mode: 'first' } } },
    encoder: { type: 'pass_through', input_dim: 384 },
    label_encoding: 'BIO',
    constrain_crf_decoding: true,
    include_start_end_transitions: true,
    calculate_span_f1: true,
  },
  trainer: {
    // AdamW, eps 1e-6, no weight decay, no warm-up, as ours; the encoder at `lr`, the
    // projection and CRF at 1e-3 (our head_lr in the benchmark).
    optimizer: {
      type: 'adamw',
      lr: 1e-3,
      eps: 1e-6,
      weight_decay: 0.0,
      parameter_groups: [[['^text_field_embedder\\.'], { lr: 5e-5 }]],
    },
    num_epochs: 30,
    validation_metric: '+f1-measure-overall',
    checkpointer: { keep_most_recent_by_count: 5 },
  },
}
