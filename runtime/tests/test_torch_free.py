"""The runtime core imports without torch, transformers or AllenNLP (docs/architecture.md)."""
import json
import subprocess
import sys

# Run in a fresh interpreter: this test process may have imported anything.
_PROGRAM = """
import importlib, json, pkgutil, sys
import hsl_bioner_runtime
names = sorted(
    m.name for m in pkgutil.walk_packages(hsl_bioner_runtime.__path__, "hsl_bioner_runtime.")
)
for name in names:
    importlib.import_module(name)
heavy = sorted(
    m for m in sys.modules if m.split(".")[0] in {"torch", "transformers", "allennlp"}
)
print(json.dumps({"modules": names, "heavy": heavy}))
"""


def test_every_module_imports_without_torch_transformers_or_allennlp():
    result = subprocess.run(
        [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    # The walk found the modules (so the check below is not vacuous) ...
    assert {
        "hsl_bioner_runtime.text",
        "hsl_bioner_runtime.tag_schemes",
        "hsl_bioner_runtime.entities",
        "hsl_bioner_runtime.formats",
        "hsl_bioner_runtime.formats.writers",
        "hsl_bioner_runtime.formats.documents",
        "hsl_bioner_runtime.formats.readers",
        "hsl_bioner_runtime.formats.bioc_writers",
        "hsl_bioner_runtime.scoring",
        "hsl_bioner_runtime.bioner_score",
    } <= set(found["modules"])
    # ... and none of them pulled in the training stack.
    assert found["heavy"] == []
