#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and trains a ResNet on
# Fashion-MNIST with the full trainer (examples/trainer). Extra arguments go to it (try --help).
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
  exec mpirun -np "$ranks" --oversubscribe -x OMP_NUM_THREADS="$threads" "$build/examples/trainer" "$@"
fi
exec "$build/examples/trainer" "$@"
