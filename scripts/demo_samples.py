"""Cut the demo's samples of real corpora: sentences spread over each split of some data sets.

`make demo` trains on small samples of NCBI-disease and BC5CDR-disease (Crichton et al.'s
MTL-Bioinformatics-2016 copy, CC BY 4.0). The corpora are not copied into this repository; this
script cuts the samples from the copy beside the checkout (`../shared/data/...`, or `--data-root`)
into a folder of the same layout, `<output>/<name>-IOB/{train,devel,test}.tsv`, which the
training configs read through `HSL_BIONER_DATA`, with the licence and attribution next to them.
Whole sentences, evenly spread over each file and kept in file order: the first sentences of a
file come from a handful of abstracts on one topic (NCBI-disease opens with abstracts on the APC
gene, and a model trained on them tags "APC" as a disease), a spread sample from many. The counts
written are printed.

    python scripts/demo_samples.py --output runs/demo/data NCBI-disease BC5CDR-disease
"""

import argparse
import shutil
import sys
from pathlib import Path

from hsl_bioner.data.iob_reader import read_iob_sentences

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/MTL-Bioinformatics-2016"
SPLITS = ("train", "devel", "test")
ATTRIBUTION = """\
Samples of the corpora of Crichton, Pyysalo, Chiu and Korhonen (2017), "A neural network
multi-task learning approach to biomedical named entity recognition", BMC Bioinformatics 18:368,
https://github.com/cambridgeltl/MTL-Bioinformatics-2016, licensed CC BY 4.0 (LICENSE.md here).
Cut by scripts/demo_samples.py: sentences evenly spread over each file ({counts}), otherwise
unchanged.

Original corpora: NCBI-disease (Dogan, Leaman and Lu 2014, J Biomed Inform 47:1-10);
BC5CDR (Li et al. 2016, Database baw068).
"""


def cut(source: Path, target: Path, count: int) -> int:
    """Writes `count` sentences of `source` (read and checked by the package's IOB reader), evenly
    spaced over the file, to `target` (all of them if it has fewer); returns how many it wrote."""
    sentences = list(read_iob_sentences(source))
    if count <= 0:
        sys.exit(f"demo_samples: the number of sentences to cut must be positive, got {count}.")
    step = max(len(sentences) / count, 1.0)
    chosen = [sentences[int(i * step)] for i in range(min(count, len(sentences)))]
    with target.open("w", encoding="utf-8") as out:
        for sentence in chosen:
            out.writelines(f"{word}\t{tag}\n" for word, tag in zip(sentence.words, sentence.tags))
            out.write("\n")
    return len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", help="data set names, e.g. NCBI-disease")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--train", type=int, default=400, help="sentences of each training file")
    parser.add_argument("--devel", type=int, default=100, help="... of each development file")
    parser.add_argument("--test", type=int, default=200, help="... of each test file")
    args = parser.parse_args()

    folders = {name: args.data_root / f"{name}-IOB" for name in args.datasets}
    absent = [str(folder) for folder in folders.values() if not folder.is_dir()]
    if absent:
        sys.exit(
            f"demo_samples: corpora not found: {', '.join(absent)}. The demo cuts its samples "
            "from Crichton et al.'s MTL-Bioinformatics-2016 copy "
            "(https://github.com/cambridgeltl/MTL-Bioinformatics-2016, folder data/); pass its "
            "folder with --data-root (make demo SHARED_DATA=...)."
        )
    counts = {"train": args.train, "devel": args.devel, "test": args.test}
    written = []
    for name, folder in folders.items():
        target = args.output / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for split in SPLITS:
            n = cut(folder / f"{split}.tsv", target / f"{split}.tsv", counts[split])
            written.append(f"{name} {split} {n}")
    licence = args.data_root / "LICENSE.md"
    if licence.is_file():
        shutil.copyfile(licence, args.output / "LICENSE.md")
    (args.output / "README.md").write_text(
        ATTRIBUTION.format(counts=", ".join(written)), encoding="utf-8"
    )
    print(f"samples in {args.output}: " + ", ".join(written))


if __name__ == "__main__":
    main()
