#!/usr/bin/env bash
# Prints the path of a Python interpreter of version $1 (e.g. 3.10): $PYTHON<major><minor> if set
# (e.g. PYTHON310), else python$1 on PATH, else a pyenv-installed one.
# The training stack needs 3.10 (allennlp 2.10.1 and torch 1.12 have no wheels for 3.11+); the
# runtime's own test environment is 3.12, the newest Python the runtime supports.
set -euo pipefail
want="$1"
override_name="PYTHON${want//./}"
has_version() {
  "$1" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$want')" 2>/dev/null
}
for candidate in "${!override_name:-}" "$(command -v "python$want" || true)"; do
  if [ -n "$candidate" ] && has_version "$candidate"; then echo "$candidate"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -rV); do
    candidate="$(PYENV_VERSION="$version" pyenv which python 2>/dev/null || true)"
    if [ -n "$candidate" ] && has_version "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi
echo "error: no Python $want found." >&2
echo "Install one (e.g. 'pyenv install $want' or your OS package python$want) or pass $override_name=/path/to/python$want." >&2
exit 1
