#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter: $PYTHON if set, else python3.10 on PATH, else a
# pyenv-installed 3.10. allennlp 2.10.1 (torch 1.12, transformers < 4.21) has no wheels for 3.11+.
set -euo pipefail
is310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }
for candidate in "${PYTHON:-}" "$(command -v python3.10 || true)"; do
  if [ -n "$candidate" ] && is310 "$candidate"; then echo "$candidate"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -rV); do
    candidate="$(PYENV_VERSION="$version" pyenv which python 2>/dev/null || true)"
    if [ -n "$candidate" ] && is310 "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi
echo "error: hsl-bioner needs Python 3.10 (allennlp 2.10.1 has no wheels for 3.11+)." >&2
echo "Install one (e.g. 'pyenv install 3.10' or your OS package python3.10) or pass PYTHON=/path/to/python3.10." >&2
exit 1
