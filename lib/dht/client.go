package dht

import (
	"context"

	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Client is the put/get/listen surface shared by a Node and by a REST
// proxy client (lib/dht/proxy), so that the secure layer and the tools
// work the same over UDP or through an OpenDHT proxy. Field queries
// (Node.Query) are not part of it: the proxy API has none.
type Client interface {
	Put(ctx context.Context, key wire.InfoHash, v *value.Value, opt PutOptions) error
	CancelPut(ctx context.Context, key wire.InfoHash, id uint64) (bool, error)
	Get(ctx context.Context, key wire.InfoHash, q *value.Query) ([]*value.Value, error)
	GetFunc(ctx context.Context, key wire.InfoHash, q *value.Query, cb func([]*value.Value) bool) error
	Listen(ctx context.Context, key wire.InfoHash, where *value.Where, cb func(vals []*value.Value, expired bool) bool) (ListenToken, error)
	CancelListen(ctx context.Context, tok ListenToken) (bool, error)
	Close() error
}

var _ Client = (*Node)(nil)
