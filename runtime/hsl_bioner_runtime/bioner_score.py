"""`bioner-score GOLD PRED`: strict entity-level precision, recall and F1 of a tagged file.

Both files are PubTator or BioC (XML or JSON), detected from their content or given with
``--gold-format`` / ``--pred-format``; the rules are in `hsl_bioner_runtime.scoring`. Prints a
table (percentages), or with ``--json`` one JSON object (fractions). Exits with 1 and a message
naming the file, line or document when an input cannot be read or the files do not belong
together, with 2 for bad arguments.
"""
import argparse
import sys
from typing import Dict, List, Optional

from hsl_bioner_runtime.formats.documents import DOCUMENT_FORMATS
from hsl_bioner_runtime.scoring import read_scored, score_documents, score_text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bioner-score",
        description=(
            "Entity-level precision, recall and F1 of PRED against GOLD (PubTator or BioC): an "
            "entity counts as correct only with the same document id, offsets and type."
        ),
    )
    parser.add_argument("gold", help="the gold file")
    parser.add_argument("pred", help="the predicted file")
    parser.add_argument("--gold-format", choices=DOCUMENT_FORMATS, help="default: detected")
    parser.add_argument("--pred-format", choices=DOCUMENT_FORMATS, help="default: detected")
    parser.add_argument(
        "--types",
        nargs="+",
        default=[],
        metavar="NAME=NEW",
        help="rename types on both sides before scoring, e.g. SpecificDisease=Disease; "
        "NAME= leaves a type out",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    renamed: Dict[str, str] = {}
    for pair in args.types:
        name, equals, new = pair.partition("=")
        if not equals or not name:
            parser.error(f"--types takes NAME=NEW pairs, got {pair!r}")
        renamed[name] = new
    try:
        gold = read_scored(args.gold, args.gold_format)
        predicted = read_scored(args.pred, args.pred_format)
        score = score_documents(gold, predicted, renamed)
    except (OSError, ValueError) as error:
        print(f"bioner-score: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(score_text(score, args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
