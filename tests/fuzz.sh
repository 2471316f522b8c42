#!/usr/bin/env bash
# Runs every fuzz target of the module for $FUZZTIME each (default 5s).
# `go test` alone runs only the seed corpora; this explores a little more on
# every `make test`, and a crasher fails the run (its input is kept under
# testdata/fuzz/ of the package, to be committed as a regression seed).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
n=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz: $pkg $target ($fuzztime)"
    for attempt in 1 2; do
      if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/jamikit-fuzz.$$ 2>&1; then
        break
      fi
      # The fuzzing engine itself sometimes gives up on a loaded machine
      # ("context deadline exceeded" when a worker does not answer in time)
      # without any failing input: that is not a finding, so try once more.
      # A real crash or hang names its input under testdata/fuzz/ and fails.
      if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' /tmp/jamikit-fuzz.$$ &&
         ! grep -q 'Failing input written\|failure while testing seed corpus\|panic:' /tmp/jamikit-fuzz.$$; then
        echo "fuzz: $target: the fuzzing engine timed out without a failing input; once more"
        continue
      fi
      cat /tmp/jamikit-fuzz.$$; rm -f /tmp/jamikit-fuzz.$$; exit 1
    done
    n=$((n+1))
  done
done
rm -f /tmp/jamikit-fuzz.$$
echo "fuzz: $n targets, $fuzztime each, no crash"
