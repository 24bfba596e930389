#!/usr/bin/env bash
# Builds the API reference with Doxygen into build/docs/html (open index.html) and fails when
# Doxygen prints any warning: an undocumented public declaration or a malformed comment.
# Input is exactly the installed public headers (each area's *.hpp but autograd/kernels/ and
# the internal headers cmake/Install.cmake lists) and tapegrad.hpp. The guides in docs/ are
# Markdown for reading in the repository (their links between pages and headings are GitHub's,
# which Doxygen cannot resolve), so they are not part of the reference.
# Settings are in docs/Doxyfile. Usage: scripts/docs.sh [output-dir]   (default build/docs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v doxygen >/dev/null || "$root/scripts/deps.sh"
mkdir -p "${1:-build/docs}"
out=$(cd "${1:-build/docs}" && pwd)

# The internal headers, from the list the install uses, so that the two cannot disagree.
mapfile -t internal < <(sed -n '/^set(tapegrad_internal_headers/,/)/p' cmake/Install.cmake |
  sed -e 's/set(tapegrad_internal_headers//' -e 's/)//' | tr -s ' \t' '\n' | sed '/^$/d')
[ ${#internal[@]} -gt 0 ] || { echo "docs.sh: no internal headers found in cmake/Install.cmake" >&2; exit 1; }

# Doxygen reads the headers through a link named tapegrad, so that a class's page shows the
# include a user writes (#include <tapegrad/nn/module.hpp>); the link goes when it is done.
ln -sfn "$root" "$out/tapegrad"
trap 'rm -f "$out/tapegrad"' EXIT
inputs=("$out/tapegrad/tapegrad.hpp")
for area in autograd nn optim data distributed vision deploy; do
  for h in "$area"/*.hpp; do
    [[ " ${internal[*]} " == *" $h "* ]] || inputs+=("$out/tapegrad/$h")
  done
done

log="$out/warnings.log"
{
  cat docs/Doxyfile
  printf 'INPUT = '; printf '"%s" ' "${inputs[@]}"; echo
  echo "OUTPUT_DIRECTORY = \"$out\""
  echo "STRIP_FROM_PATH = \"$out/tapegrad\" \"$root\""
  echo "STRIP_FROM_INC_PATH = \"$out\""
  echo "WARN_LOGFILE = \"$log\""
} | doxygen - >/dev/null
sed -i -e "s|$out/tapegrad/||g" -e "s|$root/||g" "$log"

if [ -s "$log" ]; then
  cat "$log" >&2
  echo "docs.sh: $(grep -c 'warning:' "$log") Doxygen warnings, listed above: document what they name" >&2
  exit 1
fi
echo "docs.sh: API reference of ${#inputs[@]} headers in $out/html/index.html, no warnings"
