#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu 22.04), not per submission.
# Written by `grader gradescope @@ASSIGNMENT@@` (dlmath-grader @@VERSION@@).
#
# - The system python3 (3.10 on Ubuntu 22.04) runs Gradescope's own harness: it is left alone.
# - Python 3.11 comes from Ubuntu's python3.11 package (on 22.04 an early 3.11 build, which runs this
#   grader; for a newer 3.11, add the deadsnakes PPA before installing: add-apt-repository ppa:deadsnakes/ppa).
# - The grader (engine and course, from the bundled wheel) goes into its own venv, /autograder/venv,
#   with its dependencies from PyPI (the build has network).
# - torch: @@TORCH_NOTE@@
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11 python3.11-venv libseccomp2

python3.11 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --upgrade pip
"$ROOT/venv/bin/python" -m pip install "$SOURCE/@@WHEEL@@"
@@TORCH_INSTALL@@
chmod 600 "$SOURCE/@@SECRET@@"
chmod 755 "$SOURCE/run_autograder"
"$ROOT/venv/bin/python" -c "import grader, problems; print('dlmath-grader', grader.__version__, 'installed')"
