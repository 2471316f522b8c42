#!/usr/bin/env bash
# Account creation and archive crypto, side by side with what jamid uses:
# GnuTLS generating three RSA-4096 keys (certtool), and the archive KDF.
set -euo pipefail
runs=${BENCH_RUNS:-5}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f\n", a-b}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "## Account creation (3 RSA-4096 keys + certificates) and archive encryption"
echo
if ! command -v certtool >/dev/null; then
  echo "certtool (gnutls-bin) is not installed: no reference to compare with."; exit 0
fi

: > "$tmp/ours"; : > "$tmp/gnutls"
for i in $(seq "$runs"); do
  t0=$(now); jami-keygen new --no-password --archive "$tmp/a$i.gz" -q >/dev/null; t1=$(now)
  sub "$t1" "$t0" >> "$tmp/ours"
  t0=$(now)
  for k in 1 2 3; do certtool --generate-privkey --bits 4096 --outfile "$tmp/k$i-$k.pem" 2>/dev/null; done
  t1=$(now)
  sub "$t1" "$t0" >> "$tmp/gnutls"
done
ours=$(median < "$tmp/ours"); gnutls=$(median < "$tmp/gnutls")
printf '| what (median of %d runs) | jamikit | GnuTLS certtool ×3 | ratio (ours/theirs) |\n|---|---|---|---|\n' "$runs"
printf '| new account (3 × RSA-4096) | %.2f s | %.2f s | %.2f |\n' "$ours" "$gnutls" "$(div "$ours" "$gnutls")"

# Archive encryption/decryption: one Argon2i derivation (t=16, 64 MiB) each.
pw="$tmp/pw"; echo "bench-password" > "$pw"
: > "$tmp/enc"; : > "$tmp/dec"
for i in $(seq "$runs"); do
  t0=$(now); jami-archive convert "$tmp/a1.gz" --to encrypted --new-password-file "$pw" -o "$tmp/e$i.gz" -q >/dev/null; t1=$(now)
  sub "$t1" "$t0" >> "$tmp/enc"
  t0=$(now); jami-archive verify "$tmp/e$i.gz" --password-file "$pw" -q >/dev/null; t1=$(now)
  sub "$t1" "$t0" >> "$tmp/dec"
done
enc=$(median < "$tmp/enc"); dec=$(median < "$tmp/dec")
# The reference for the KDF that dominates both: the Argon2 reference
# implementation (Debian package argon2), same parameters as OpenDHT.
if command -v argon2 >/dev/null; then
  : > "$tmp/ref"
  for i in $(seq "$runs"); do
    t0=$(now); printf 'bench-password' | argon2 0123456789abcdef -i -t 16 -m 16 -p 1 -l 32 -r >/dev/null; t1=$(now)
    sub "$t1" "$t0" >> "$tmp/ref"
  done
  ref=$(median < "$tmp/ref")
  printf '| archive encrypt (CLI: Argon2i + zlib + AES-GCM) | %.2f s | %.2f s (argon2 CLI, KDF only) | %s |\n' "$enc" "$ref" "$(div "$enc" "$ref")"
  printf '| archive decrypt + verify (CLI) | %.2f s | %.2f s (argon2 CLI, KDF only) | %s |\n' "$dec" "$ref" "$(div "$dec" "$ref")"
else
  printf '| archive encrypt (CLI: Argon2i + zlib + AES-GCM) | %.2f s | (install argon2 for a reference) | – |\n' "$enc"
  printf '| archive decrypt + verify (CLI) | %.2f s | – | – |\n' "$dec"
fi
echo
echo "Key generation time is random (prime search); the ratio compares medians. jamikit generates"
echo "the three keys in parallel, as jamid does; certtool runs them one after another."
