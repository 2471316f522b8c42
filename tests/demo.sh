#!/usr/bin/env bash
# make demo: the jamikit lifecycle on this machine, step by step, with the
# real output of each tool. Everything happens in a temporary folder (kept
# with DEMO_KEEP=1) and, once the network tools exist, on a private loopback
# network only. Later issues extend it: DHT, names, conversation, connection, call.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="${JAMIKIT_BIN:-$root/bin}:$PATH"  # tests point JAMIKIT_BIN at freshly built tools
work=$(mktemp -d "${TMPDIR:-/tmp}/jamikit-demo.XXXXXX")
pids=()
cleanup() {
  # Stop only what this script started, by PID.
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && { wait "$p" 2>/dev/null || true; }; done
  if [ "${DEMO_KEEP:-}" = 1 ]; then echo "demo files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# run shows a command as one would type it (arguments with spaces quoted), then runs it.
run() {
  local shown='$' a
  for a in "$@"; do
    case $a in *[[:space:]\'\"\$\!\*\?]*) shown+=" '${a//\'/\'\\\'\'}'" ;; *) shown+=" $a" ;; esac
  done
  printf '%s\n' "$shown"
  "$@"
}
json() { sed -n 's/.*"'"$1"'": *"\([^"]*\)".*/\1/p' "$2" | head -n1; }

umask 077
printf 'correct horse battery staple\n' > password
# Passwords never go on the command line: a file, $JAMI_PASSWORD, or a prompt.

step "1. Two new Jami accounts (RSA-4096 CA, account and device keys, as jamid makes them)"
run jami-keygen new -o alice --name alice-laptop --password-file password --config hostname=127.0.0.1:4222
run jami-keygen new --archive bob.gz --no-password --json | tee bob.json
alice_id=$(jami-keygen id alice --json | tee alice.json | json jami_id /dev/stdin)
bob_id=$(json jami_id bob.json)

step "2. What the account archive holds (alice's is encrypted: Argon2i + AES-256-GCM)"
run jami-archive show alice/archive.gz --password-file password
run jami-archive verify alice/archive.gz --password-file password

step "3. A cron-style backup of alice, verified by reading it back"
run jami-archive backup --account alice --to backups --keep 3 --password-file password
backup=$(ls backups/*.gz | tail -n1)

step "4. Restore the backup as a new device of the same account"
run jami-archive extract "$backup" -o alice-restored --name alice-phone --password-file password
run jami-keygen id alice-restored
restored_id=$(jami-keygen id alice-restored --json | json jami_id /dev/stdin)

step "5. A private DHT: five OpenDHT-compatible nodes in one process, on loopback"
port=$(( 20000 + RANDOM % 20000 ))
dhtnode --nodes 5 -s -p "$port" > dht.out 2> dht.log &
pids+=("$!")
for _ in $(seq 100); do [ "$(wc -l < dht.out)" -ge 5 ] && break; sleep 0.1; done
cat dht.out
export JAMI_BOOTSTRAP=127.0.0.1:$port
jami-dht listen demo-key --count 2 --timeout 20s > listen.out 2> listen.err &
listen_pid=$!
sleep 1
run jami-dht put demo-key "hello from alice"
run jami-dht put demo-key "hello from bob"
run jami-dht get demo-key
wait "$listen_pid" || { cat listen.err >&2; exit 1; }
echo "what a listener saw meanwhile:"; cat listen.out

step "6. Names: a private name server (JamiNS REST API over a registrar contract on an embedded chain)"
jami-ns serve --ephemeral --listen 127.0.0.1:0 --addr-file ns.url -q > ns.out 2> ns.log &
ns_pid=$!
pids+=("$ns_pid")
for _ in $(seq 300); do [ -s ns.url ] && break; kill -0 "$ns_pid" 2>/dev/null || { cat ns.log >&2; exit 1; }; sleep 0.1; done
[ -s ns.url ] || { echo "demo: name server did not start" >&2; cat ns.log >&2; exit 1; }
export JAMI_NS_URL=$(head -n1 ns.url)
echo "name server at $JAMI_NS_URL"
run jami-ns register alice --account alice --password-file password
run jami-ns register bob --account bob.gz
run jami-ns lookup alice
run jami-ns reverse "$bob_id"
run jami-ns lookup nobody-has-this-name || echo "(exit $?: not found)"

step "7. A conversation: a git repository of signed commits, as jamid keeps it"
run jami-archive extract bob.gz -o bob --name bob-laptop
mkdir -p alice-convs bob-convs
conv=$(jami-swarm init --account alice --title "Demo" --json alice-convs | json conversation /dev/stdin)
A=alice-convs/$conv B=bob-convs/$conv
run jami-swarm invite --account alice -C "$A" "$bob_id"
run jami-swarm send --account alice -C "$A" "Hello Bob, welcome to the demo"
run jami-swarm clone --account bob "$A" bob-convs
run jami-swarm send --account bob -C "$B" "Hi Alice!"
run jami-swarm send --account alice -C "$A" "Both of us wrote at once: pull merges"
run jami-swarm pull --account alice -C "$A" "$B"
run jami-swarm pull --account bob -C "$B" "$A"
run jami-swarm log -C "$B"
run jami-swarm members -C "$A"
run jami-swarm verify -C "$A"
run jami-swarm verify -C "$B" --rules 2023
[ "$(jami-swarm info -C "$A" --json | json head /dev/stdin)" = "$(jami-swarm info -C "$B" --json | json head /dev/stdin)" ] ||
  { echo "demo: the two copies did not converge" >&2; exit 1; }

step "8. Online: both devices announce themselves; alice finds bob's device and sends a contact request"
# What a Jami client does when it comes online: its certificate at its device
# id, the announcement its account signed at the Jami ID (permanent puts).
run jami-dht announce --account alice --once
run jami-dht announce --account bob --once
run jami-dht presence "$bob_id"
run jami-dht request --account alice --to "$bob_id" --message "Hi Bob, it's Alice (from the demo)"
# bob's device reads its inbox: decrypted with its key, the sender verified.
run jami-dht inbox --account bob --count 1 --timeout 30s
run jami-dht get --decode "$alice_id"

step "9. IDs"
printf 'alice  Jami ID %s\n' "$alice_id"
printf 'bob    Jami ID %s\n' "$bob_id"
printf 'alice (restored from %s) Jami ID %s\n' "$(basename "$backup")" "$restored_id"
if [ "$alice_id" != "$restored_id" ]; then echo "demo: restored account has another Jami ID" >&2; exit 1; fi
echo "demo: done"
