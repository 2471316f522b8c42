package chain

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/jamikit/jamikit/lib/ns"
	"github.com/jamikit/jamikit/lib/ns/registrar"
)

var _ ns.ChangeFeed = (*Contract)(nil)

// watchBackstop is how often the feed looks at the chain when new heads
// are pushed to it (the embedded chain, a ws or IPC node): in case a
// notification is lost.
const watchBackstop = 5 * time.Second

// Watch implements ns.ChangeFeed from the contract's events: every call
// that writes a record emits Changed(name), and every write to the reverse
// map comes with PrimaryChanged(name, addr). New heads wake it up where the
// node pushes them (in-process, ws, IPC); over HTTP it polls every Poll
// interval. A reorganisation of the blocks already read (their hash
// changed) is reported as a Reset.
func (c *Contract) Watch(ctx context.Context, fn func(ns.Change)) error {
	// A node that does not answer now may later: keep trying, or the
	// cache would stay off for the server's lifetime.
	var head *types.Header
	for {
		h, err := c.client.HeaderByNumber(ctx, nil)
		if err == nil {
			head = h
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		fn(ns.Change{Err: fmt.Errorf("latest block: %w", err)})
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(max(c.poll, time.Second)):
		}
	}
	w := &watcher{c: c, fn: fn}
	w.reset(head)

	heads := make(chan *types.Header, 16)
	var subErr <-chan error
	interval := c.poll
	if sub, err := c.client.SubscribeNewHead(ctx, heads); err == nil {
		defer sub.Unsubscribe()
		subErr = sub.Err()
		interval = watchBackstop
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-subErr:
			// The subscription broke (a ws node went away): poll.
			subErr = nil
			tick.Reset(c.poll)
			if err != nil {
				fn(ns.Change{Block: w.next - 1, Err: fmt.Errorf("new heads: %w", err)})
			}
		case <-heads:
		case <-tick.C:
		}
		if err := w.catchUp(ctx); err != nil && ctx.Err() == nil {
			fn(ns.Change{Block: w.next - 1, Err: err})
		}
	}
}

// watcher reads the contract's events block range by block range.
type watcher struct {
	c    *Contract
	fn   func(ns.Change)
	next uint64      // the first block not read yet
	last common.Hash // the hash of block next-1 when it was read
}

func (w *watcher) reset(head *types.Header) {
	w.next, w.last = head.Number.Uint64()+1, head.Hash()
	w.fn(ns.Change{Reset: true, Block: head.Number.Uint64()})
}

// catchUp reports the events of the blocks mined since the last call. On
// an error it reports nothing of the blocks it failed on, and the next call
// reads them again.
func (w *watcher) catchUp(ctx context.Context) error {
	head, err := w.c.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("latest block: %w", err)
	}
	n := head.Number.Uint64()
	// The blocks read so far must still be the chain's: the hash of
	// the last one read covers all of them.
	if n < w.next-1 {
		w.reset(head)
		return nil
	}
	if n == w.next-1 {
		if head.Hash() != w.last {
			w.reset(head)
		}
		return nil
	}
	prev, err := w.c.client.HeaderByNumber(ctx, new(big.Int).SetUint64(w.next-1))
	if err != nil {
		return fmt.Errorf("block %d: %w", w.next-1, err)
	}
	if prev.Hash() != w.last {
		w.reset(head)
		return nil
	}
	topics := w.c.abi.GetABI().Events
	changed := topics[registrar.GlobalRegistrarChangedEventName].ID
	primary := topics[registrar.GlobalRegistrarPrimaryChangedEventName].ID
	var found []ns.Change
	for from := w.next; from <= n; from += w.c.maxChunk {
		to := min(from+w.c.maxChunk-1, n)
		logs, err := w.c.client.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
			Addresses: []common.Address{w.c.address}, Topics: [][]common.Hash{{changed, primary}},
		})
		if err != nil {
			return fmt.Errorf("events of blocks %d-%d: %w", from, to, err)
		}
		for i := range logs {
			if ch, ok := w.change(&logs[i], changed); ok {
				found = append(found, ch)
			}
		}
	}
	// All or nothing, so that a retry cannot report a write twice out
	// of order. A reorganisation during the reads shows at the next
	// call: head's hash is the one checked then.
	for _, ch := range found {
		w.fn(ch)
	}
	w.next, w.last = n+1, head.Hash()
	return nil
}

// change decodes one event. Both events carry the name as their first
// indexed topic, PrimaryChanged the Jami ID as its second.
func (w *watcher) change(l *types.Log, changed common.Hash) (ns.Change, bool) {
	if l.Removed || len(l.Topics) < 2 {
		return ns.Change{}, false
	}
	ch := ns.Change{Block: l.BlockNumber, Index: l.TxIndex, Name: ns.NameFromBytes32(l.Topics[1])}
	if l.Topics[0] == changed {
		return ch, true
	}
	ev, err := w.c.abi.UnpackPrimaryChangedEvent(l)
	if err != nil {
		return ns.Change{}, false
	}
	ch.Addr = ns.Address(ev.Addr)
	return ch, true
}
