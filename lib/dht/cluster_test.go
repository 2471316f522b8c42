package dht

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var loopback4 = netip.MustParseAddr("127.0.0.1")

// testConfig is a loopback IPv4 node.
func testConfig() Config {
	return Config{BindIPv4: loopback4, NoIPv6: true}
}

// cluster starts n nodes, each bootstrapped from the first one.
func cluster(t *testing.T, n int, mod func(i int, c *Config)) []*Node {
	t.Helper()
	nodes := make([]*Node, 0, n)
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.Close()
		}
	})
	for i := 0; i < n; i++ {
		cfg := testConfig()
		if mod != nil {
			mod(i, &cfg)
		}
		nd, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
		if i > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := nd.Bootstrap(ctx, nodes[0].Addr4().String())
			cancel()
			if err != nil {
				t.Fatalf("node %d bootstrap: %v", i, err)
			}
		}
	}
	return nodes
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClusterPutGet(t *testing.T) {
	nodes := cluster(t, 20, nil)
	ctx := ctxT(t)
	for _, size := range []int{10, 599, 600, 3000, 60 * 1024} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := wire.InfoHashOf([]byte(fmt.Sprint("key", size)))
			data := bytes.Repeat([]byte{byte(size)}, size)
			v := &value.Value{Data: data, UserType: "test"}
			if err := nodes[3].Put(ctx, key, v, PutOptions{}); err != nil {
				t.Fatalf("put: %v", err)
			}
			for _, i := range []int{0, 11, 19} {
				vals, err := nodes[i].Get(ctx, key, nil)
				if err != nil {
					t.Fatalf("get from %d: %v", i, err)
				}
				if len(vals) != 1 || !bytes.Equal(vals[0].Data, data) || vals[0].ID != v.ID {
					t.Fatalf("get from %d: %d values", i, len(vals))
				}
			}
		})
	}
}
