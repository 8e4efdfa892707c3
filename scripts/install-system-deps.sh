#!/usr/bin/env bash
# Debian packages the project needs: Fashion-MNIST (the embedded dataset), Chromium (the
# real-browser check of the built book) and MathJax (which the built book serves itself, so its
# math renders offline). Idempotent; uses sudo only when not root.
set -euo pipefail
packages=(dataset-fashion-mnist chromium libjs-mathjax)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "install-system-deps: no apt-get here; install ${missing[*]} yourself (see README)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing ${missing[*]} with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
