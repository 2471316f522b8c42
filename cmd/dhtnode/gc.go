package main

import (
	"os"
	"runtime/debug"
)

// dhtGCPercent is the garbage collector's target for a DHT node when the
// user did not choose one with $GOGC. A node's heap is mostly the values it
// stores for the network (long-lived), while the packet path allocates
// little (the serve path nothing, a put the parsed value); with Go's
// default of 100 the heap may reach twice the stored data before a
// collection, so most of the memory a node holds beyond its values is
// collector headroom. At 50, tests/bench/bench-dht.sh measured ~370
// instead of ~420 bytes of RSS per stored 64-byte value, with no
// measurable change of the CPU time per put reply (see
// tests/bench/RESULTS.md).
const dhtGCPercent = 50

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(dhtGCPercent)
	}
}
