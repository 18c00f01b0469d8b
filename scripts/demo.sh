#!/usr/bin/env bash
# The README's main job: the paper's chain STL -> MTL-XC -> MTL-LS through the real `allennlp`
# commands and the real configs (training_config/*.jsonnet), on small samples of two real disease
# corpora (NCBI-disease, BC5CDR-disease) with a real pre-trained encoder (all-MiniLM-L6-v2,
# `make minilm`); then `allennlp evaluate` of the MTL-LS model on each test sample against its own
# head, and `allennlp predict` on a short abstract, printing entities with character offsets.
#
# Settings (environment):
#   SHARED_DATA    Crichton et al.'s corpora, where the samples are cut from (make demo passes it)
#   DEMO_DATA      a folder of samples in the same layout instead (nothing is cut)
#   DEMO_ENCODER   the encoder (default models/all-MiniLM-L6-v2)
#   DEMO_EPOCHS    epochs of each training run (default 2)
#   DEMO_DIR       where everything goes (default runs/demo; emptied first)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
out="${DEMO_DIR:-runs/demo}"
encoder="${DEMO_ENCODER:-models/all-MiniLM-L6-v2}"
epochs="${DEMO_EPOCHS:-2}"
rm -rf "$out"
mkdir -p "$out"

step() { echo "== $1"; }
run() {  # run a command, keeping its log; show the log's tail if it fails
  local log="$1"; shift
  if ! "$@" > "$out/$log" 2>&1; then
    tail -40 "$out/$log"; echo "failed: $*  (full log: $out/$log)"; exit 1
  fi
}

if [[ -n "${DEMO_DATA:-}" ]]; then
  data="$DEMO_DATA"
else
  data="$out/data"
  step "Samples of NCBI-disease and BC5CDR-disease (CC BY 4.0), cut from ${SHARED_DATA:-../shared/data}"
  python scripts/demo_samples.py ${SHARED_DATA:+--data-root "$SHARED_DATA"} --output "$data" \
    --train 600 --devel 100 --test 200 NCBI-disease BC5CDR-disease
fi

# The real configs, pointed at the samples and the encoder; the budget is the demo's: 2 epochs of
# batch size 8 (twice the steps of 16 on the same sentences) at high rates (2e-4 for every encoder
# layer, without the paper's layer-wise decay, which slows down a short run: benchmarks/README.md,
# "Quality"; 3e-3 for the heads), the word-embedding matrix frozen (half of MiniLM's parameters;
# few of its rows occur in the samples), and one checkpoint kept. Chosen on 2026-12-02 among
# batch sizes 4/8/16, rates 1e-4..5e-4, 2-4 epochs and 200-600 training sentences (README).
export HSL_BIONER_DATA="$data" HSL_BIONER_ENCODER="$encoder" HSL_BIONER_CATEGORY=disease \
  HSL_BIONER_DATASETS=NCBI-disease,BC5CDR-disease
budget='{"trainer.num_epochs": '"$epochs"', "data_loader.batch_size": 8,
  "trainer.optimizer.lr": 2e-4, "trainer.optimizer.layer_decay": 1.0,
  "trainer.optimizer.head_lr": 3e-3, "trainer.no_grad": ["word_embeddings"],
  "trainer.checkpointer.keep_most_recent_by_count": 1}'

# Two lanes of one thread each (two processes of one thread use two cores better than one
# process of two threads on batches this small): the STL runs | MTL-XC; then MTL-LS on both cores.
step "Training, $epochs epochs each: STL on each data set | MTL-XC (everything shared)"
stl_lane() {
  for dataset in NCBI-disease BC5CDR-disease; do
    HSL_BIONER_DATASET="$dataset" run "stl_$dataset.log" \
      allennlp train training_config/stl.jsonnet -s "$out/stl_$dataset" -o "$budget"
  done
}
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 stl_lane & stl_pid=$!
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  run mtl_xc.log allennlp train training_config/mtl_xc.jsonnet -s "$out/mtl_xc" -o "$budget" &
mtl_xc_pid=$!
status=0
wait "$stl_pid" || status=1
wait "$mtl_xc_pid" || status=1
[[ $status == 0 ]] || exit 1
step "MTL-LS: 3 of 6 layers shared (initialised from MTL-XC), the upper 3 and the CRF per data set"
HSL_BIONER_MTL_XC_ARCHIVE="$out/mtl_xc/model.tar.gz" \
  run mtl_ls.log allennlp train training_config/mtl_ls.jsonnet -s "$out/mtl_ls" -o "$budget"

step "allennlp evaluate: MTL-LS on each test sample, each against its own head"
run evaluate.log allennlp evaluate "$out/mtl_ls/model.tar.gz" \
  '{"NCBI-disease": "'"$data"'/NCBI-disease-IOB/test.tsv", "BC5CDR-disease": "'"$data"'/BC5CDR-disease-IOB/test.tsv"}' \
  --output-file "$out/mtl_ls/test_metrics.json"

step "allennlp predict: raw text in, entities out"
# A short abstract written for the demo (not from the corpora): diseases, abbreviations, genes that
# are not diseases, and a last sentence with no entity at all. (Not the APC gene, FAP's cause:
# NCBI-disease tags "APC" as a disease, in 50 of its "APC gene" mentions among others, after the
# disease adenomatous polyposis coli; MLH1 and MSH2 are never tagged in either corpus.)
cat > "$out/abstract.txt" <<'TEXT'
Familial adenomatous polyposis (FAP) is an inherited predisposition to colorectal cancer. We screened 112 patients with FAP and 37 patients with hereditary nonpolyposis colorectal cancer (HNPCC) for germline mutations of the mismatch repair genes MLH1 and MSH2. Carriers of truncating mutations had a higher risk of desmoid tumours and duodenal adenomas. Blood samples were collected at the first visit and stored at -80 degrees until analysis.
TEXT
run predict.log allennlp predict "$out/mtl_ls/model.tar.gz" "$out/abstract.txt" \
  --predictor bioner --silent --output-file "$out/predictions.jsonl"

python - "$out" "$epochs" "$((SECONDS - started))" <<'PY'
import json, sys
out, epochs, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
tasks = ("NCBI-disease", "BC5CDR-disease")
def f1(metrics, task):
    return f"{100 * metrics[f'test_{task}_f1']:.1f}"
print(f"\nTest F1 on the test samples ({epochs} epochs on the training samples, MiniLM):")
print(f"{'regime':8} {tasks[0]:>14} {tasks[1]:>15}")
rows = [("STL", [json.load(open(f"{out}/stl_{t}/metrics.json")) for t in tasks])]
rows += [(name, [json.load(open(f"{out}/{run}/metrics.json"))] * 2)
         for name, run in (("MTL-XC", "mtl_xc"), ("MTL-LS", "mtl_ls"))]
for name, metrics in rows:
    print(f"{name:8} {f1(metrics[0], tasks[0]):>14} {f1(metrics[1], tasks[1]):>15}")
m = json.load(open(f"{out}/mtl_ls/test_metrics.json"))
print("\nallennlp evaluate (MTL-LS):", {k: round(v, 3) for k, v in m.items() if k.endswith("f1")})
doc = json.loads(open(f"{out}/predictions.jsonl").readline())
print("\nText:", doc["text"])
for e in doc["entities"]:
    assert doc["text"][e["start"]:e["end"]] == e["text"]
    print(f"  [{e['start']:3d}, {e['end']:3d}) {e['text']!r:45} {e['type']:8} {e['task']:15} {e['score']:.2f}")
print(f"\nEverything is in {out}/ (samples, archives, metrics, logs); {seconds} s.")
PY
