#!/usr/bin/env bash
# The README's main job, on the bundled synthetic corpora and the tiny random XLNet: the paper's
# chain STL -> MTL-XC -> MTL-LS through the real `allennlp` commands, per-dataset evaluation of the
# MTL-LS model, and entities with character offsets predicted from a line of raw text.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${DEMO_DIR:-runs/demo}"
rm -rf "$out"
mkdir -p "$out"

step() { echo "== $1"; }
run() {  # run a command, keeping its log; show the log's tail if it fails
  local log="$1"; shift
  if ! "$@" > "$out/$log" 2>&1; then
    tail -40 "$out/$log"; echo "failed: $*  (full log: $out/$log)"; exit 1
  fi
}

step "STL on disease_a"
run stl.log allennlp train training_config/fixtures/stl.jsonnet -s "$out/stl"
step "MTL-XC on disease_a + disease_b (everything shared)"
run mtl_xc.log allennlp train training_config/fixtures/mtl_xc.jsonnet -s "$out/mtl_xc"
step "MTL-LS (2 of 4 layers shared, initialised from MTL-XC)"
HSL_BIONER_MTL_XC_ARCHIVE="$out/mtl_xc/model.tar.gz" \
  run mtl_ls.log allennlp train training_config/fixtures/mtl_ls.jsonnet -s "$out/mtl_ls"

step "allennlp evaluate: MTL-LS on each test set, each against its own head"
run evaluate.log allennlp evaluate "$out/mtl_ls/model.tar.gz" \
  '{"disease_a": "fixtures/data/disease_a/test.tsv", "disease_b": "fixtures/data/disease_b/test.tsv"}' \
  --output-file "$out/mtl_ls/test_metrics.json"

step "allennlp predict: raw text in, entities out"
echo "Patients with familial adenomatous polyposis (FAP) and colorectal cancer were screened; none had Alzheimer's disease." \
  > "$out/abstract.txt"
run predict.log allennlp predict "$out/mtl_ls/model.tar.gz" "$out/abstract.txt" \
  --predictor bioner --silent --output-file "$out/predictions.jsonl"

python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("\nTest F1 per data set (synthetic data, tiny random encoder, 3 epochs):")
print(f"{'regime':8} {'disease_a':>10} {'disease_b':>10}")
for regime in ("stl", "mtl_xc", "mtl_ls"):
    m = json.load(open(f"{out}/{regime}/metrics.json"))
    cells = [f"{m[f'test_{t}_f1']:.3f}" if f"test_{t}_f1" in m else "-" for t in ("disease_a", "disease_b")]
    print(f"{regime:8} {cells[0]:>10} {cells[1]:>10}")
m = json.load(open(f"{out}/mtl_ls/test_metrics.json"))
print("\nallennlp evaluate (MTL-LS):", {k: round(v, 3) for k, v in m.items() if k.endswith("f1")})
doc = json.loads(open(f"{out}/predictions.jsonl").readline())
print("\nText:", doc["text"])
for e in doc["entities"]:
    assert doc["text"][e["start"]:e["end"]] == e["text"]
    print(f"  [{e['start']:3d}, {e['end']:3d}) {e['text']!r:40} {e['type']:8} {e['task']:10} {e['score']:.2f}")
print(f"\nEverything is in {out}/ (archives, metrics, logs).")
PY
