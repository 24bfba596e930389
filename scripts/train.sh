#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and trains the ResNet example
# on Fashion-MNIST. Extra arguments go to the example (try --help).
# scripts/train.sh --ranks N ...: data-parallel on this machine, N ranks under mpirun, the
# cores shared out among them (OMP_NUM_THREADS).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
build=$("$root/scripts/build.sh" | tail -n 1)
if [ "${1:-}" = "--ranks" ]; then
  ranks=$2
  shift 2
  threads=$(( $(nproc) / ranks > 0 ? $(nproc) / ranks : 1 ))
  [ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  exec mpirun -np "$ranks" --oversubscribe -x OMP_NUM_THREADS="$threads" "$build/examples/resnet" "$@"
fi
exec "$build/examples/resnet" "$@"
