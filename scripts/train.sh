#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and trains the ResNet example
# on Fashion-MNIST. Extra arguments go to the example (try --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
build=$("$root/scripts/build.sh" | tail -n 1)
exec "$build/examples/resnet" "$@"
