#!/usr/bin/env bash
# make bench: runs every tests/bench/bench-*.sh with the freshly built tools on
# PATH. Each prints a markdown section comparing jamikit with the real peer
# measured in the same run; the whole report goes to stdout and to
# tests/bench/out/report.md. Benchmarks are measurements, never pass/fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$root/bin:$PATH"
mkdir -p "$here/out"
{
  echo "# jamikit benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3)"
  echo
  for b in "$here"/bench-*.sh; do
    bash "$b"
    echo
  done
} | tee "$here/out/report.md"
