package dht

import "net/netip"

// txBatch is the most datagrams one sendmmsg sends.
const txBatch = 64

// outboxBytes is the size above which queued replies are sent without
// waiting for the end of the batch.
const outboxBytes = 256 << 10

// outMsg is one queued datagram: its bytes are buf[off:off+n] of the outbox.
type outMsg struct {
	off, n int32
	to     netip.AddrPort
}

// outbox holds the replies the engine produced while handling a batch of
// received datagrams, so that they leave in one sendmmsg per socket
// (Node.loop flushes it before it waits again). Requests the engine sends
// still go out at once (their send errors matter, see requestStep), after
// what was queued before them: datagrams leave in the order the engine
// produced them.
type outbox struct {
	buf  []byte
	msgs [2][]outMsg // per family
	w    [2]*batchWriter
}

// add queues b (copied) for to on family fam's socket.
func (o *outbox) add(f *family, to netip.AddrPort, b []byte) {
	if o.w[f.idx] == nil {
		o.w[f.idx] = newBatchWriter(f.conn, f.v6())
		if o.w[f.idx] == nil {
			_, _ = f.conn.WriteToUDPAddrPort(b, to)
			return
		}
	}
	off := len(o.buf)
	o.buf = append(o.buf, b...)
	o.msgs[f.idx] = append(o.msgs[f.idx], outMsg{off: int32(off), n: int32(len(b)), to: to})
	if len(o.msgs[f.idx]) >= txBatch || len(o.buf) >= outboxBytes {
		o.flush()
	}
}

func (o *outbox) pending() bool { return len(o.msgs[0])+len(o.msgs[1]) > 0 }

// flush sends everything queued.
func (o *outbox) flush() {
	if !o.pending() {
		return
	}
	for i, w := range o.w {
		if len(o.msgs[i]) > 0 {
			w.write(o.buf, o.msgs[i])
			o.msgs[i] = o.msgs[i][:0]
		}
	}
	if cap(o.buf) > 4*outboxBytes {
		o.buf = nil // give back memory after a burst of large replies
	} else {
		o.buf = o.buf[:0]
	}
}
