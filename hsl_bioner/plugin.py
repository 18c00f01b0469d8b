"""Makes the `allennlp` command load hsl-bioner in every directory: ``python -m hsl_bioner.plugin``.

AllenNLP finds plugins in two files only (`allennlp.common.plugins`): ``.allennlp_plugins`` in the
directory where `allennlp` runs (the project root has one), and the global ``~/.allennlp/plugins``.
Without an entry in the global file, ``allennlp bioner-tag`` is an "invalid choice" anywhere but
in the project root. `make venv` runs this module; users who pip-install the package run it once.
It adds ``hsl_bioner`` to the global file if it is not listed yet (idempotent; other plugins'
lines are kept), or with ``--remove`` takes it out again.

The global file is per user, not per environment: an `allennlp` of another environment without
hsl-bioner logs "Plugin hsl_bioner could not be loaded" (and carries on) until it is removed.
"""

import argparse
import os

from allennlp.common.plugins import GLOBAL_PLUGINS_FILENAME

PLUGIN = "hsl_bioner"


def _read(plugins_file: str) -> str:
    if not os.path.isfile(plugins_file):
        return ""
    with open(plugins_file, encoding="utf-8") as text:
        return text.read()


def _lists_plugin(line: str) -> bool:
    return line.strip() == PLUGIN  # AllenNLP strips each line, too


def register_plugin(plugins_file: str = GLOBAL_PLUGINS_FILENAME) -> bool:
    """Adds hsl_bioner to AllenNLP's global plugins file unless it is listed; returns whether
    the file changed."""
    text = _read(plugins_file)
    if any(_lists_plugin(line) for line in text.splitlines()):
        return False
    os.makedirs(os.path.dirname(plugins_file) or ".", exist_ok=True)
    with open(plugins_file, "a", encoding="utf-8") as out:
        out.write(("\n" if text and not text.endswith("\n") else "") + PLUGIN + "\n")
    return True


def unregister_plugin(plugins_file: str = GLOBAL_PLUGINS_FILENAME) -> bool:
    """Removes hsl_bioner from AllenNLP's global plugins file; returns whether it was listed."""
    lines = _read(plugins_file).splitlines()
    kept = [line for line in lines if not _lists_plugin(line)]
    if len(kept) == len(lines):
        return False
    with open(plugins_file, "w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in kept)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m hsl_bioner.plugin",
        description=f"List {PLUGIN} in AllenNLP's global plugins file ({GLOBAL_PLUGINS_FILENAME}) "
        "so that `allennlp bioner-tag`, `bioner-analyze` and `bioner-average` work in any "
        "directory.",
    )
    parser.add_argument("--remove", action="store_true", help="take it out of the file again")
    args = parser.parse_args()
    if args.remove:
        changed = unregister_plugin()
        print(f"{PLUGIN} {'removed from' if changed else 'was not in'} {GLOBAL_PLUGINS_FILENAME}")
    else:
        changed = register_plugin()
        print(
            f"{PLUGIN} {'registered in' if changed else 'already in'} {GLOBAL_PLUGINS_FILENAME}: "
            "`allennlp` loads it in any directory"
        )


if __name__ == "__main__":
    main()
