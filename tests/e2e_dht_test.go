package tests

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// handedOut are the ports freeport gave to scripts of this process, which
// run in parallel: none gets a port another was given.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freeport VAR [N]: sets $VAR to the first of N consecutive UDP ports
// (default 1) that nothing listens on, IPv4 and IPv6, for the DHT nodes a
// script starts.
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: freeport VAR [N]")
	}
	n := 1
	if len(args) == 2 {
		var err error
		if n, err = strconv.Atoi(args[1]); err != nil || n < 1 || n > 100 {
			ts.Fatalf("freeport: N must be 1 to 100")
		}
	}
	handedOut.Lock()
	defer handedOut.Unlock()
	for try := 0; try < 200; try++ {
		base := 20000 + rand.IntN(30000)
		if portsFree(base, n) {
			for p := base; p < base+n; p++ {
				handedOut.ports[p] = true
			}
			ts.Setenv(args[0], strconv.Itoa(base))
			return
		}
	}
	ts.Fatalf("freeport: no %d free consecutive UDP ports found", n)
}

func portsFree(base, n int) bool {
	var held []net.PacketConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		if handedOut.ports[p] {
			return false
		}
		c, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", p))
		if err != nil {
			return false
		}
		held = append(held, c)
		// IPv6 is optional on the test machine; when present the nodes
		// bind it on the same port.
		if c6, err := net.ListenPacket("udp6", fmt.Sprintf("[::]:%d", p)); err == nil {
			held = append(held, c6)
		} else if !noIPv6(err) {
			return false
		}
	}
	return true
}

// noIPv6 reports a bind error meaning the machine has no IPv6 at all.
func noIPv6(err error) bool {
	c, e := net.ListenPacket("udp6", "[::]:0")
	if e == nil {
		c.Close()
		return false
	}
	return true
}
