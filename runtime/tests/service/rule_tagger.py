"""A stand-in for `Tagger` in the service's tests: the same records (`document_record`, merge
rule ``none``), its entities found by rules instead of ONNX graphs, so that a test controls
exactly when a call ends (`gate`) and sees every call (`calls`)."""
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence

from hsl_bioner_runtime.entities import document_record
from hsl_bioner_runtime.formats.documents import document_sentences
from hsl_bioner_runtime.text import TextTokenizer

DISEASE_WORDS = {"cancer", "disease", "tumour", "tumor", "syndrome"}


class RuleTagger:
    """Task ``disease``: a word of `DISEASE_WORDS` and the word before it (``breast cancer``);
    task ``gene``: a word of capitals and digits with a digit (``BRCA1``); task ``chemical``: a
    word ending in ``-ine`` (``cocaine``), also tagged Disease-free. A word that is both (a
    capital word before "syndrome") is found by two tasks, so merge rules matter.

    # Parameters

    gate : `threading.Event`, optional
        When given, every call waits for it to be set before tagging.
    """

    tasks = ("disease", "gene", "chemical")

    def __init__(self, gate: Optional[threading.Event] = None) -> None:
        self.gate = gate
        self.calls: List[int] = []  # documents per call
        self.started = threading.Event()
        self._tokenizer = TextTokenizer()

    def tag_documents(self, documents: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append(len(documents))
        records = []
        for document in documents:
            sentences = document_sentences(self._tokenizer, document)
            tagged = [self._tag_sentence([t.text for t in tokens]) for tokens in sentences]
            records.append(document_record(document, sentences, tagged, "BIO", "none"))
        return records

    def describe(self) -> Dict[str, Any]:
        return {
            "tasks": {
                "disease": {"group": "g0", "types": ["Disease"]},
                "gene": {"group": "g1", "types": ["Gene"]},
                "chemical": {"group": "g1", "types": ["Chemical"]},
            },
            "encoder": {"family": "rules", "name": "rule-tagger"},
            "precision": "fp32",
            "versions": {},
        }

    def _tag_sentence(self, words: List[str]) -> Dict[str, Any]:
        n = len(words)
        disease, gene, chemical = ["O"] * n, ["O"] * n, ["O"] * n
        for i, word in enumerate(words):
            if word.lower() in DISEASE_WORDS:
                if i > 0 and words[i - 1].isalpha():
                    disease[i - 1], disease[i] = "B-Disease", "I-Disease"
                else:
                    disease[i] = "B-Disease"
            if any(c.isdigit() for c in word) and word.isalnum() and word.upper() == word:
                if not word.isdigit():
                    gene[i] = "B-Gene"
            if word.lower().endswith("ine") and len(word) > 4:
                chemical[i] = "B-Chemical"
        # The gene task also calls a capitalised word before "syndrome" a Disease (one word),
        # overlapping the disease task's two-word mention with another score.
        for i in range(1, n):
            if words[i].lower() == "syndrome" and words[i - 1][:1].isupper():
                gene[i - 1] = "B-Disease"
        return {
            "disease": (disease, [0.9] * n),
            "gene": (gene, [0.8] * n),
            "chemical": (chemical, [0.7] * n),
        }
