#!/usr/bin/env bash
# One-command install: Debian packages (fonts, tesseract), a venv in .venv, and the package
# with its dev and ray extras. Safe to re-run. Usage: bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-liberation2 fonts-noto-core fonts-noto-mono
  fonts-dkg-handwriting fonts-breip fonts-comic-neue fonts-humor-sans
  tesseract-ocr tesseract-ocr-eng
)

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" = "none" ]; then
    echo "install.sh: not root and no sudo: install these Debian packages yourself: ${APT_PACKAGES[*]}" >&2
  else
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  fi
else
  echo "install.sh: no apt-get: install DejaVu/Liberation/Noto fonts and tesseract 5 with your package manager" >&2
fi

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "install.sh: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,ray]"
.venv/bin/python -c "import torch, torchvision; from torchvision.ops import nms; print('installed: torch', torch.__version__, '+ torchvision', torchvision.__version__)"
