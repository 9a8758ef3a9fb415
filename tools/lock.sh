#!/usr/bin/env bash
# Regenerate constraints.txt: the exact versions of every dependency (runtime and test) that
# a fresh venv resolves today within the ranges of pyproject.toml. Run from anywhere, with
# the Python the project supports (3.11+); commit the result with the change that needed it
# (a new dependency, a range change, or a deliberate upgrade after `.ci/run` passed with
# CDISC_CI_NEWEST=1).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet '.[test]'
{
  echo "# Exact versions for reproducible installs and CI: pip install -c constraints.txt -e '.[test]'"
  echo "# Produced by tools/lock.sh ($("$venv/bin/python" -c 'import platform; print("Python", platform.python_version())')); the ranges stay in pyproject.toml."
  "$venv/bin/pip" freeze --all --exclude-editable | grep -v -i -E '^(cdisc[-_]convert( @|==)|(pip|setuptools|wheel)==)'
} > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins"
