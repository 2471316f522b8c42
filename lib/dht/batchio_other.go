//go:build !linux

package dht

import (
	"net"
	"net/netip"
)

// Without recvmmsg/sendmmsg, the batch types move one datagram per call.

const rxBatch = 1

type batchReader struct {
	c   *net.UDPConn
	buf []byte
}

func newBatchReader(c *net.UDPConn) (*batchReader, error) {
	return &batchReader{c: c, buf: make([]byte, 64*1024)}, nil
}

func (r *batchReader) close() {}

func (r *batchReader) read(fn func(data []byte, from netip.AddrPort)) error {
	n, from, err := r.c.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		return err
	}
	fn(r.buf[:n], from)
	return nil
}

type batchWriter struct{ c *net.UDPConn }

func newBatchWriter(c *net.UDPConn, v6 bool) *batchWriter { return &batchWriter{c: c} }

func (w *batchWriter) write(buf []byte, msgs []outMsg) {
	for _, m := range msgs {
		_, _ = w.c.WriteToUDPAddrPort(buf[m.off:m.off+m.n], m.to)
	}
}
