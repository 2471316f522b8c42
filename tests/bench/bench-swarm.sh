#!/usr/bin/env bash
# Swarm (git-backed conversations): jami-swarm next to git on the same
# repository. A 10,000-commit conversation (initial commit + text messages,
# every one signed by the device's RSA-4096 key) is generated through
# lib/swarm by tests/bench/swarmgen (one process; 10,000 CLI runs would time
# process starts). Then: log vs git log, verify vs git fsck, send vs an
# unsigned git commit, and pull of 1,000 new messages from a path (served by
# a `jami-swarm serve --stdio` child) vs git fetch from a file:// remote.
# Every figure is a median; "CPU/wall" shows how many cores a command kept busy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${BENCH_RUNS:-3}                 # runs per timed command
sends=${BENCH_SWARM_SENDS:-20}        # sends timed
msgs=${BENCH_SWARM_MESSAGES:-10000}   # commits of the conversation
new=${BENCH_SWARM_NEW:-1000}          # commits pulled
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f\n", a-b}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
fmt() { awk -v s="$1" 'BEGIN{ if (s < 1) printf "%.1f ms", s*1000; else printf "%.2f s", s }'; }

# timed NAME CMD...: runs CMD once (stdout discarded), appends its wall time
# to $tmp/NAME.wall and user+sys CPU time to $tmp/NAME.cpu; a failing command
# stops the benchmark with its error.
timed() {
  local name=$1; shift
  local TIMEFORMAT='%R %U %S' t
  if ! t=$( { time "$@" >/dev/null 2>"$tmp/err"; } 2>&1 ); then
    echo "benchmark command failed: $*" >&2; cat "$tmp/err" >&2; exit 1
  fi
  set -- $t
  echo "$1" >> "$tmp/$name.wall"
  awk -v u="$2" -v s="$3" 'BEGIN{print u+s}' >> "$tmp/$name.cpu"
}
wall() { median < "$tmp/$1.wall"; }
cores() { awk -v c="$(median < "$tmp/$1.cpu")" -v w="$(wall "$1")" 'BEGIN{printf "%.2f", c/w}'; }
# row WHAT OURS REFERENCE-LABEL THEIRS
row() {
  printf '| %s | %s (%s) | %s: %s (%s) | %s |\n' "$1" "$(fmt "$(wall "$2")")" "$(cores "$2")" \
    "$3" "$(fmt "$(wall "$4")")" "$(cores "$4")" "$(div "$(wall "$2")" "$(wall "$4")")"
}

echo "## Swarm conversations: jami-swarm vs git on the same repository"
echo
for cmd in jami-swarm jami-keygen git go; do
  if ! command -v "$cmd" >/dev/null; then echo "$cmd is not on PATH: skipped."; exit 0; fi
done
(cd "$root" && go build -o "$tmp/swarmgen" ./tests/bench/swarmgen)
jami-keygen new -o "$tmp/alice" --no-password -q >/dev/null
acc=$tmp/alice
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

# The conversation A, and the source S = A plus $new messages.
t0=$(now)
A=$("$tmp/swarmgen" -account "$acc" -init "$tmp/a" -n "$msgs")
t1=$(now)
gen=$(sub "$t1" "$t0")
S=$tmp/src; cp -a "$A" "$S"
"$tmp/swarmgen" -account "$acc" -C "$S" -n "$new" -first "$msgs" >/dev/null
[ "$(git -C "$A" rev-list --count HEAD)" = "$msgs" ] || { echo "generated history is not $msgs commits" >&2; exit 1; }

for i in $(seq "$runs"); do
  timed log      jami-swarm log -C "$A"
  timed lograw   jami-swarm log -C "$A" --json raw
  timed gitlog   git -C "$A" log
  timed gitlogb  git -C "$A" log --format=%B
  timed verify   jami-swarm verify -C "$A"
  timed verify23 jami-swarm verify -C "$A" --rules 2023 --lenient
  timed fsck     git -C "$A" fsck --no-progress
  # Pull: a fresh copy of A each run, so every run fetches the same $new commits.
  cp -a "$A" "$tmp/p$i"; cp -a "$A" "$tmp/g$i"; cp -a "$A" "$tmp/f$i"
  timed pull     jami-swarm pull --account "$acc" -C "$tmp/p$i" "$S" -q
  timed fetch    git -C "$tmp/g$i" fetch -q "file://$S" main
  timed gitpull  git -C "$tmp/f$i" pull -q --ff-only "file://$S" main
  [ "$(git -C "$tmp/p$i" rev-parse HEAD)" = "$(git -C "$S" rev-parse HEAD)" ] || { echo "pull did not reach the source head" >&2; exit 1; }
  rm -rf "$tmp/p$i" "$tmp/g$i" "$tmp/f$i"
done
cp -a "$A" "$tmp/s1"; cp -a "$A" "$tmp/s2"
for i in $(seq "$sends"); do
  timed send   jami-swarm send --account "$acc" -C "$tmp/s1" "latency message $i" -q
  timed commit git -C "$tmp/s2" -c user.name=bench -c user.email=bench@localhost commit -q --allow-empty -m "{\"body\":\"latency message $i\",\"type\":\"text/plain\"}"
done

printf '| what (median; runs: %d, sends: %d) | jamikit (CPU/wall) | reference (CPU/wall) | ratio (ours/theirs) |\n|---|---|---|---|\n' "$runs" "$sends"
row "log, $msgs commits (text)" log "\`git log\`" gitlog
row "log --json raw (jamid's message maps)" lograw "\`git log --format=%B\`" gitlogb
row "verify: $msgs RSA-4096 signatures + rules (strict, current)" verify "\`git fsck\`" fsck
row "verify --rules 2023 --lenient (jamid's own checks)" verify23 "\`git fsck\`" fsck
row "pull $new new messages (serve --stdio child, validated, fast-forward)" pull "\`git fetch\` file://" fetch
row "pull $new new messages" pull "\`git pull --ff-only\` file://" gitpull
row "send (CLI end to end, signed) on a $msgs-commit history" send "\`git commit --allow-empty\` (unsigned)" commit
# The floor of verify: the RSA-4096 verifications alone, one core, OpenSSL.
if command -v openssl >/dev/null; then
  vps=$(openssl speed -seconds 1 rsa4096 2>/dev/null | awk '/^rsa 4096/{print $NF}')
  floor=$(awk -v n="$msgs" -v v="$vps" 'BEGIN{printf "%.4f", n/v}')
  printf '| verify (strict) vs the bare signature checks | %s | %s × RSA-4096 verify, one core (`openssl speed`, %s/s): %s | %s |\n' \
    "$(fmt "$(wall verify)")" "$msgs" "$vps" "$(fmt "$floor")" "$(div "$(wall verify)" "$floor")"
fi
echo
rate=$(awk -v n="$msgs" -v s="$gen" 'BEGIN{printf "%.0f", n/s}')
echo "Generating the $msgs signed commits through lib/swarm (swarmgen, one process) took $(fmt "$gen"):"
echo "$rate commits/s, bounded by one RSA-4096 signature per commit (each commit names the previous"
echo "one, so signing cannot be spread over cores). CPU/wall near 1.0 means one core busy; verify"
echo "checks its signatures one after another in one goroutine."
