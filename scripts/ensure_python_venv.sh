#!/usr/bin/env bash
# Debian splits venv support out of python3; install it when `python -m venv` cannot work.
set -euo pipefail
python=${1:-python3}
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  "$(dirname "$0")/apt_install.sh" "__never__:python${version}-venv"
fi
