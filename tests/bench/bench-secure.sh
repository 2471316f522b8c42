#!/usr/bin/env bash
# Secure values: RSA-4096 sign, verify, encrypt and decrypt of DHT values
# (lib/dht/secure's Go benchmarks), as ratios to `openssl speed rsa4096`
# measured in the same run. OpenSSL 3.0's `speed rsa` reports only
# sign/s (private-key op) and verify/s (public-key op): sign and decrypt
# are compared with its sign/s, verify and encrypt with its verify/s.
set -euo pipefail
secs=${BENCH_SECURE_SECONDS:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

echo "## Secure values: RSA-4096 sign/verify/encrypt/decrypt vs openssl speed"
echo
if ! command -v openssl >/dev/null; then
  echo "openssl is not installed: no reference to compare with."; exit 0
fi
(cd "$root" && go test ./lib/dht/secure/ -run '^$' -bench . -benchtime "${secs}s" -count 1) > "$tmp/go" 2>&1 || {
  cat "$tmp/go"; exit 1; }
openssl speed -seconds "$secs" rsa4096 2>/dev/null > "$tmp/ossl"
read -r osign overify < <(awk '/^rsa 4096 bits/{print $(NF-1), $NF}' "$tmp/ossl")
ops() { awk -v n="$1" '$1 ~ "^Benchmark"n"(-[0-9]+)?$" {printf "%.1f", 1e9/$3}' "$tmp/go"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
sign=$(ops Sign); verify=$(ops Verify); enc=$(ops Encrypt); dec=$(ops Decrypt); put=$(ops PutEncryptedValue)
printf '| operation (64-byte value, RSA-4096) | jamikit ops/s | openssl speed reference | ops/s | ratio (ours/openssl) |\n|---|---|---|---|---|\n'
printf '| sign (pack + SHA-512 + RSA private op) | %s | sign/s | %s | %s |\n' "$sign" "$osign" "$(div "$sign" "$osign")"
printf '| verify (pack + SHA-512 + RSA public op) | %s | verify/s | %s | %s |\n' "$verify" "$overify" "$(div "$verify" "$overify")"
printf '| encrypt (RSA public op on an AES key + AES-GCM) | %s | verify/s | %s | %s |\n' "$enc" "$overify" "$(div "$enc" "$overify")"
printf '| decrypt (RSA private op + AES-GCM + inner verify) | %s | sign/s | %s | %s |\n' "$dec" "$osign" "$(div "$dec" "$osign")"
printf '| putEncrypted CPU (sign, then encrypt) | %s | – | – | – |\n' "$put"
echo
echo "$(grep -m1 '^cpu:' "$tmp/go" || true); Go: $(go version | cut -d' ' -f3); $(openssl version | cut -d' ' -f1-2); ${secs} s per measurement."
