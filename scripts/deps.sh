#!/usr/bin/env bash
# Installs the Debian packages tapegrad needs, only those that are missing.
# Usage: scripts/deps.sh [extra-package ...]   (bench/run.sh passes libtorch-dev)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libxtensor-dev xtl-dev libxsimd-dev
  libopenblas-openmp-dev      # OpenBLAS built on OpenMP: one owner of the threads
  libdnnl-dev                 # oneDNN's sgemm: full-width kernels where OpenBLAS lacks the CPU
  zlib1g-dev doctest-dev libstb-dev
  libpng-dev libjpeg62-turbo-dev   # image decoding: fuzzed upstream, patched by Debian security
  nlohmann-json3-dev          # safetensors headers are JSON
  libcli11-dev                # the examples' command lines
  libplplot-dev plplot-driver-cairo   # the examples' plots (PNG through cairo)
  dataset-fashion-mnist       # the main job's data, in /usr/share/datasets/fashion-mnist
  libopenmpi-dev openmpi-bin  # distributed/: data-parallel training over MPI (mpirun)
  libonnx-dev libprotobuf-dev # deploy/: ONNX export (generated protobuf classes, checker, shape inference)
  libopencv-dnn-dev           # tests only: OpenCV's DNN module runs the exported ONNX files
  python3-onnx                # tests only: ONNX's Python checker (full_check) reads the exported files
  doxygen                     # scripts/docs.sh: the API reference from the headers' comments (CI fails on a warning)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "tapegrad: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
