#!/usr/bin/env bash
# JamiNS server: lookup throughput with wrk and registration latency on the
# embedded chain, against `jami-ns serve --ephemeral` on 127.0.0.1. No reference
# server runs here (the upstream one needs node.js and a geth node), so the
# figures are compared with the issue's targets: at least 10,000 lookups/s on a
# 2-core machine, and a registration confirmed in under 1 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
regs=${BENCH_NS_REGS:-30}            # registrations timed
bits=${BENCH_NS_KEY_BITS:-2048}      # RSA size of the throwaway account keys
duration=${BENCH_NS_DURATION:-10s}   # wrk run
tmp=$(mktemp -d)
srv=""
cleanup() {
  if [ -n "$srv" ]; then
    kill -TERM "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f\n", a-b}'; }
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Nearest-rank percentile: with 30 samples, p99 is the largest.
pct() { sort -g | awk -v p="$1" '{a[NR]=$1} END{r=int(p*NR/100); if (r<p*NR/100) r++; if (r<1) r=1; print a[r]}'; }
ms() { awk -v s="$1" 'BEGIN{printf "%.1f ms", s*1000}'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN{ok = (dir==">=") ? (v>=t) : (v<t); print ok ? "met" : "**missed**"}'; }

echo "## JamiNS server: lookups and registrations (jami-ns serve --ephemeral)"
echo
for cmd in jami-ns openssl curl; do
  if ! command -v "$cmd" >/dev/null; then
    echo "$cmd is not on PATH: skipped."
    exit 0
  fi
done

jami-ns serve --ephemeral --listen 127.0.0.1:0 --addr-file "$tmp/url" -q >/dev/null 2>"$tmp/serve.log" &
srv=$!
for _ in $(seq 300); do
  [ -s "$tmp/url" ] && break
  if ! kill -0 "$srv" 2>/dev/null; then
    echo "jami-ns serve did not start: $(tail -n 3 "$tmp/serve.log")"; srv=""; exit 0
  fi
  sleep 0.1
done
url=$(head -n 1 "$tmp/url")
if [ -z "$url" ]; then echo "jami-ns serve wrote no URL within 30 s: skipped."; exit 0; fi

# Registration bodies exactly as jamid builds them (spec §5.2): a throwaway RSA key
# per account (one name per Jami ID), Jami ID = SHA-1 of its SPKI, the name signed
# with PKCS#1 v1.5 SHA-512, publickey = base64 of the PEM, a random owner. Made
# before the clock starts, so that only the server is timed.
for i in $(seq "$regs"); do
  openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$tmp/k$i.pem" 2>/dev/null
  openssl pkey -in "$tmp/k$i.pem" -pubout -out "$tmp/p$i.pem"
  addr=$(openssl pkey -pubin -in "$tmp/p$i.pem" -outform DER | sha1sum | cut -c1-40)
  name="bench-$i"
  sig=$(printf '%s' "$name" | openssl dgst -sha512 -sign "$tmp/k$i.pem" | base64 -w0)
  printf '{"addr":"%s","owner":"%s","signature":"%s","publickey":"%s"}' \
    "$addr" "$(openssl rand -hex 20)" "$sig" "$(base64 -w0 < "$tmp/p$i.pem")" > "$tmp/body$i"
done

# POST /name/NAME is answered 200 only once the registrar's event confirms the
# record, so curl's total time is the time to a confirmed registration.
: > "$tmp/lat"
failed=0
for i in $(seq "$regs"); do
  read -r code secs < <(curl -sS -o "$tmp/resp" -w '%{http_code} %{time_total}\n' \
    -H 'Content-Type: application/json' --data-binary "@$tmp/body$i" "$url/name/bench-$i")
  if [ "$code" = 200 ] && grep -q '"success":true' "$tmp/resp"; then
    echo "$secs" >> "$tmp/lat"
  else
    failed=$((failed + 1))
    echo "registration bench-$i: HTTP $code $(cat "$tmp/resp")" >&2
  fi
done
ok=$(wc -l < "$tmp/lat")
if [ "$ok" -gt 0 ]; then
  reg_med=$(median < "$tmp/lat"); reg_p99=$(pct 99 < "$tmp/lat")
fi

# The CLI end to end once (process start, archive read, signing, POST), with an
# unencrypted archive from the test fixtures.
cli=""
fixture="$root/tests/testdata/fixtures/account-jami20230206/archive-nopassword.gz"
if [ -f "$fixture" ]; then
  t0=$(now)
  if jami-ns register bench-cli --account "$fixture" --server "$url" -q >/dev/null 2>"$tmp/cli.err" </dev/null; then
    cli=$(sub "$(now)" "$t0")
  else
    echo "jami-ns register: $(cat "$tmp/cli.err")" >&2
  fi
fi

# wrk_row LABEL URL: one wrk run, printed as a table row against the target.
wrk_row() {
  wrk -t2 -c32 -d"$duration" --latency "$2" > "$tmp/wrk" 2>&1 || true
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$tmp/wrk")
  p50=$(awk '$1=="50%"{print $2}' "$tmp/wrk")
  p99=$(awk '$1=="99%"{print $2}' "$tmp/wrk")
  non2xx=$(awk '/Non-2xx/{print $NF}' "$tmp/wrk")
  if [ -z "$rps" ]; then
    echo "| $1 | wrk failed: $(tail -n 1 "$tmp/wrk") | $3 | – |"; return
  fi
  local v="–"
  [ -n "$3" ] && v=$(verdict "$rps" 10000 ">=")
  [ -n "$non2xx" ] && v="$v ($non2xx non-2xx answers)"
  printf '| %s | %s /s (latency p50 %s, p99 %s) | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${3:-–}" "$v"
}

rss=""
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "| what | jami-ns | target | |"
echo "|---|---|---|---|"
if ! command -v wrk >/dev/null; then
  echo "| GET /name/NAME | wrk is not installed (Debian package wrk): not measured | ≥ 10,000 /s | – |"
elif [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/name/bench-1")" != 200 ]; then
  echo "| GET /name/NAME | GET /name/bench-1 is not 200: not measured | ≥ 10,000 /s | – |"
else
  wrk_row "GET /name/NAME (wrk -t2 -c32 -d$duration)" "$url/name/bench-1" "≥ 10,000 /s"
  addr1=$(sed 's/^{"addr":"\([0-9a-f]*\)".*/\1/' "$tmp/body1")
  wrk_row "GET /addr/JAMI_ID (same)" "$url/addr/$addr1" ""
fi
rss=$(awk '/^VmHWM:/{printf "%.0f MB", $2/1024}' "/proc/$srv/status" 2>/dev/null || true)
if [ "$ok" -gt 0 ]; then
  printf '| registration confirmed (POST → 200), median of %d | %s | < 1 s | %s |\n' "$ok" "$(ms "$reg_med")" "$(verdict "$reg_med" 1 "<")"
  printf '| registration confirmed, p99 (nearest rank) | %s | < 1 s | %s |\n' "$(ms "$reg_p99")" "$(verdict "$reg_p99" 1 "<")"
fi
if [ "$failed" -gt 0 ]; then
  echo "| registrations refused | $failed of $regs | 0 | **missed** |"
fi
if [ -n "$cli" ]; then
  printf '| jami-ns register (whole CLI run, 1 sample) | %s | – | – |\n' "$(ms "$cli")"
fi
[ -n "$rss" ] && echo "| server peak RSS | $rss | – | – |"

# What loopback HTTP allows right now: the same-sized answer from a static Go
# net/http handler, so that a missed target can be told from a loaded machine.
if command -v wrk >/dev/null && command -v go >/dev/null; then
  mkdir -p "$tmp/ceiling"
  cat > "$tmp/ceiling/main.go" <<'GO'
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	body, _ := os.ReadFile(os.Args[1])
	http.HandleFunc("GET /name/{name}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println("http://" + l.Addr().String())
	http.Serve(l, nil)
}
GO
  printf 'module ceiling\n\ngo 1.22\n' > "$tmp/ceiling/go.mod"
  curl -s "$url/name/bench-1" > "$tmp/answer.json"
  if (cd "$tmp/ceiling" && GOWORK=off GOFLAGS= go build -o ceiling . 2>/dev/null); then
    "$tmp/ceiling/ceiling" "$tmp/answer.json" > "$tmp/ceiling.url" 2>/dev/null &
    ceil=$!
    for _ in $(seq 50); do [ -s "$tmp/ceiling.url" ] && break; sleep 0.1; done
    wrk_row "ceiling: the same answer from a static net/http handler" "$(head -n 1 "$tmp/ceiling.url")/name/x" ""
    kill -TERM "$ceil" 2>/dev/null || true
    wait "$ceil" 2>/dev/null || true
  fi
fi
echo
echo "Server and wrk share this machine's $(nproc) cores (load average before wrk: $load)."
echo "Registrations use RSA-$bits throwaway keys made with openssl; the server checks each"
echo "key's Jami ID and signature, then mines the registrar call on the embedded chain."
echo "jami-ns answers lookups from a cache of confirmed records kept coherent with the registrar's"
echo "events (a miss costs four eth_calls per GET /name, one per GET /addr); answers are pre-encoded."
