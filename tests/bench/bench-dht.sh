#!/usr/bin/env bash
# dhtnode: our lib/dht engine (bin/dhtnode) side by side with Debian's
# OpenDHT 2.4.12 dhtnode (/usr/bin/dhtnode, always called by its absolute
# path: ours has the same name), measured in the same run by the same
# loopback client (tests/bench/dhtload):
#   - node CPU time per reply at a fixed request rate, and replies/s at one
#     core, for ping, get and put (node pinned to core 1, generator to core 0);
#   - RSS idle and after storing 10,000 and 100,000 64-byte values;
#   - put, get and listen-notification latency on a loopback network of
#     N nodes (ours: one `dhtnode --nodes N`; theirs: N processes), and the
#     memory of that network.
# Every process it starts is stopped by PID; every step is bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rate=${BENCH_DHT_RATE:-20000}        # fixed request rate for CPU per reply
dur=${BENCH_DHT_DURATION:-5s}        # each load measurement window
nnet=${BENCH_DHT_NODES:-50}          # nodes of the loopback network
rounds=${BENCH_DHT_ROUNDS:-30}       # latency rounds on that network
settle=${BENCH_DHT_SETTLE:-10}       # seconds for the network to form
ref=/usr/bin/dhtnode

echo "## dhtnode: one node under load, stored values, and a $nnet-node loopback network"
echo
ours=$(command -v dhtnode || true)
if [ -z "$ours" ] || [ "$ours" = "$ref" ] || ! grep -q -- '--nodes' <<<"$("$ours" --help 2>&1)"; then
  echo "jamikit's dhtnode is not first on PATH (run through make bench): skipped."; exit 0
fi
if [ ! -x "$ref" ]; then
  echo "$ref (Debian package opendht-tools) is not installed: no reference to compare with."; exit 0
fi
for cmd in go ss taskset; do
  if ! command -v "$cmd" >/dev/null; then echo "$cmd is not on PATH: skipped."; exit 0; fi
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/dhtload" ./tests/bench/dhtload)
load="$tmp/dhtload"

# Pin the node to core 1 and the generator to core 0 ("at one core"); on a
# single-core machine both share it and the figures say less.
if [ "$(nproc)" -ge 2 ]; then
  pin_node=(taskset -c 1); pin_gen=(taskset -c 0); pinning="node on core 1, generator on core 0"
else
  pin_node=(); pin_gen=(); pinning="single core: node and generator share it"
fi

# freebase N: the first of N consecutive UDP ports nobody has bound.
freebase() {
  local n=$1 used base i ok
  used=$(ss -Huan | awk '{n=split($5,a,":"); print a[n]}' | sort -u)
  for _ in $(seq 200); do
    base=$((20000 + RANDOM % 40000))
    ok=1
    for ((i = 0; i < n; i++)); do
      if grep -qx "$((base + i))" <<<"$used"; then ok=0; break; fi
    done
    if [ "$ok" = 1 ]; then echo "$base"; return; fi
  done
  echo "no $n free consecutive UDP ports" >&2; return 1
}

# start LOG CMD...: runs CMD in the background, its PID in $started.
start() {
  local log=$1; shift
  "$@" </dev/null >"$log" 2>&1 &
  started=$!
  pids+=("$started")
}
# stop PID...: SIGTERM, wait, and forget them (a PID is never signalled
# after it was reaped: it may belong to someone else by then).
stop() {
  local p q keep=()
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
  for q in "${pids[@]}"; do
    for p in "$@"; do [ "$q" = "$p" ] && continue 2; done
    keep+=("$q")
  done
  pids=("${keep[@]}")
}
# kv "k=v k=v" KEY: one value of a dhtload result line.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0 || a == "NaN" || b == "NaN") print "–"; else printf "%.2f", a/b }'; }
# verdict RATIO OP TARGET: met when RATIO OP TARGET holds (OP ≤ or ≥).
verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN{ if (v == "–") { print "–"; exit }
    ok = (op == "≤") ? (v <= t) : (v >= t); print ok ? "met" : "**missed**" }'
}
rss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
raw="$tmp/raw"; : > "$raw"
# gen LABEL ARGS...: one dhtload run, its line kept for the raw figures.
gen() {
  local label=$1 line; shift
  line=$("${pin_gen[@]}" "$load" "$@")
  echo "$label: $line" >> "$raw"
  echo "$line"
}

# ---- one node: CPU per reply at $rate req/s, and replies/s at one core ----
# Both nodes run at once (idle while the other is measured); each request
# kind and mode is measured on ours then theirs, back to back, so that the
# load other users put on the machine hits both alike.
po=$(freebase 1); start "$tmp/ours1.log" "${pin_node[@]}" "$ours" -s -U -p "$po"; o_pid=$started
pt=$(freebase 1); while [ "$pt" = "$po" ]; do pt=$(freebase 1); done
start "$tmp/theirs1.log" "${pin_node[@]}" "$ref" -s -U -p "$pt"; t_pid=$started
declare -A R
for kind in ping get put; do
  for mode in fixed max; do
    r=$rate; [ "$mode" = max ] && r=0
    R[o,$kind,$mode]=$(gen "ours $kind $mode" load -addr "127.0.0.1:$po" -pid "$o_pid" -kind "$kind" -rate "$r" -duration "$dur")
    R[t,$kind,$mode]=$(gen "theirs $kind $mode" load -addr "127.0.0.1:$pt" -pid "$t_pid" -kind "$kind" -rate "$r" -duration "$dur")
  done
done
stop "$o_pid" "$t_pid"

# ---- memory per stored value: fresh nodes, 10,000 then 100,000 values ----
declare -A M
for side in o t; do
  p=$(freebase 1)
  if [ "$side" = o ]; then bin=$ours; else bin=$ref; fi
  start "$tmp/store-$side.log" "${pin_node[@]}" "$bin" -s -U -p "$p"; pid=$started
  # The first store also waits until the node answers; idle RSS after that.
  sleep 2
  M[$side,idle]=$(rss "$pid")
  l=$(gen "$side store 10k" store -addr "127.0.0.1:$p" -pid "$pid" -n 10000); M[$side,10k]=$(kv "$l" rss_kib)
  l=$(gen "$side store 100k" store -addr "127.0.0.1:$p" -pid "$pid" -n 90000 -first 10000); M[$side,100k]=$(kv "$l" rss_kib)
  stop "$pid"
done

# ---- a loopback network of $nnet nodes: latency and memory ----
declare -A L
netpids=()
base=$(freebase "$nnet")
start "$tmp/net-ours.log" "$ours" --nodes "$nnet" -s -p "$base"; netpids=("$started")
sleep "$settle"
L[o,rss]=$(rss "${netpids[0]}")
L[o,lat]=$(gen "ours network" latency -bootstrap "127.0.0.1:$base" -n "$rounds")
stop "${netpids[@]}"

base=$(freebase "$nnet")
start "$tmp/net-theirs-0.log" "$ref" -s -p "$base"; netpids=("$started")
for ((i = 1; i < nnet; i++)); do
  start /dev/null "$ref" -s -p "$((base + i))" -b "127.0.0.1:$base"; netpids+=("$started")
done
sleep "$settle"
sum=0
for p in "${netpids[@]}"; do sum=$((sum + $(rss "$p"))); done
L[t,rss]=$sum
L[t,lat]=$(gen "theirs network" latency -bootstrap "127.0.0.1:$base" -n "$rounds")
stop "${netpids[@]}"

# ---- the table ----
us() { printf '%.1f µs' "$1"; }
persec() { awk -v v="$1" 'BEGIN{printf "%.0fk/s", v/1000}'; }
mib() { awk -v v="$1" 'BEGIN{printf "%.1f MiB", v/1024}'; }
row() { # what ours theirs ratio op target
  printf '| %s | %s | %s | %s | %s %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$6" "$(verdict "$4" "$5" "$6")"
}
echo "| what | jamikit dhtnode | OpenDHT 2.4.12 dhtnode | ratio (ours/theirs) | target | |"
echo "|---|---|---|---|---|---|"
declare -A tgt=([ping]=0.67 [get]=0.50 [put]=0.50)
for kind in ping get put; do
  o=$(kv "${R[o,$kind,fixed]}" node_cpu_us_per_reply); t=$(kv "${R[t,$kind,fixed]}" node_cpu_us_per_reply)
  row "node CPU per $kind reply at $rate req/s" "$(us "$o")" "$(us "$t")" "$(div "$o" "$t")" "≤" "${tgt[$kind]}"
done
for kind in ping get put; do
  o=$(kv "${R[o,$kind,max]}" replies_per_cpu_s); t=$(kv "${R[t,$kind,max]}" replies_per_cpu_s)
  ow="$(persec "$(kv "${R[o,$kind,max]}" replies_per_s)") at $(kv "${R[o,$kind,max]}" node_cpu_pct) % CPU, $(kv "${R[o,$kind,max]}" node_wait_pct) % waiting"
  tw="$(persec "$(kv "${R[t,$kind,max]}" replies_per_s)") at $(kv "${R[t,$kind,max]}" node_cpu_pct) % CPU, $(kv "${R[t,$kind,max]}" node_wait_pct) % waiting"
  row "$kind replies/s at one core (saturating load: replies per node CPU-second; measured rate)" \
    "$(persec "$o") ($ow)" "$(persec "$t") ($tw)" "$(div "$o" "$t")" "≥" "1.00"
done
printf '| RSS idle | %s | %s | %s | | |\n' "$(mib "${M[o,idle]}")" "$(mib "${M[t,idle]}")" "$(div "${M[o,idle]}" "${M[t,idle]}")"
for n in 10k 100k; do
  printf '| RSS after %s 64-byte values (one per key) | %s | %s | %s | | |\n' "$n" \
    "$(mib "${M[o,$n]}")" "$(mib "${M[t,$n]}")" "$(div "${M[o,$n]}" "${M[t,$n]}")"
done
po_v=$(awk -v a="${M[o,100k]}" -v b="${M[o,idle]}" 'BEGIN{printf "%.0f", (a-b)*1024/100000}')
pt_v=$(awk -v a="${M[t,100k]}" -v b="${M[t,idle]}" 'BEGIN{printf "%.0f", (a-b)*1024/100000}')
row "memory per stored value ((RSS at 100k − idle) / 100,000)" "$po_v B" "$pt_v B" "$(div "$po_v" "$pt_v")" "≤" "0.50"
for op in put get listen; do
  o=$(kv "${L[o,lat]}" "${op}_p50_ms"); t=$(kv "${L[t,lat]}" "${op}_p50_ms")
  o9=$(kv "${L[o,lat]}" "${op}_p90_ms"); t9=$(kv "${L[t,lat]}" "${op}_p90_ms")
  what="$op latency p50 on $nnet nodes"; [ "$op" = listen ] && what="listen notification latency p50 (from put) on $nnet nodes"
  row "$what" "$o ms (p90 $o9)" "$t ms (p90 $t9)" "$(div "$o" "$t")" "≤" "1.00"
done
row "memory of the $nnet-node network (sum of RSS)" "$(mib "${L[o,rss]}")" "$(mib "${L[t,rss]}") ($nnet processes)" \
  "$(div "${L[o,rss]}" "${L[t,rss]}")" "≤" "0.20"
lost=""
for side in o t; do
  for kind in ping get put; do
    l=${R[$side,$kind,fixed]}
    if [ "$(awk -v s="$(kv "$l" sent)" -v r="$(kv "$l" replies)" 'BEGIN{print (r < 0.99 * s)}')" = 1 ]; then
      lost+=" $([ $side = o ] && echo ours || echo theirs) answered $(kv "$l" replies) of $(kv "$l" sent) ${kind}s at $rate/s;"
    fi
  done
done
for side in o t; do
  l=${L[$side,lat]}
  if [ "$(kv "$l" missed_get)" != 0 ] || [ "$(kv "$l" missed_listen)" != 0 ]; then
    lost+=" on $([ $side = o ] && echo our || echo their) network, $(kv "$l" missed_get) of $rounds gets did not find the value just put and $(kv "$l" missed_listen) listens were not notified within 5 s (left out of the percentiles);"
  fi
done
echo
if [ -n "$lost" ]; then
  echo "**Note**:${lost%;}. A fixed-rate row with more than 1 % unanswered counts only the replies."
  echo
fi
echo "Single node: \`dhtnode -s -U -p PORT\` (ours) and \`$ref -s -U -p PORT\`, $pinning; -U lifts"
echo "the rate limits that would otherwise drop a loopback flood. CPU per reply = utime+stime of the node"
echo "over a $dur window / replies, after 1 s of warm-up; replies/s at one core = replies / node CPU seconds"
echo "under a closed loop of 256 requests in flight. The machine is shared: other processes run on core 1 too,"
echo "so the node may get less than the core; the measured rate, its CPU share and the time its threads spent"
echo "runnable but waiting for the CPU (schedstat run delay, summed over threads) are shown in brackets."
echo "Requests go in batches (sendmmsg) from one client id: gets on a key holding one 64-byte value, puts"
echo "of new 64-byte values over 4,096 keys. Network: ours"
echo "\`dhtnode --nodes $nnet -s -p BASE\`, theirs \`$ref -s -p BASE+i -b 127.0.0.1:BASE\` × $nnet, ${settle} s to form;"
echo "the client is lib/dht (three client nodes: one puts, one listens, a third gets) for both networks,"
echo "$rounds rounds. Raw generator output:"
echo
echo '```'
cat "$raw"
echo '```'
