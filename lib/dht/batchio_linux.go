//go:build linux

package dht

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched socket I/O. The profile of a node under load is dominated by the
// kernel's per-call cost: one recvfrom and one sendto per datagram was
// 60–80 % of the node's CPU. recvmmsg drains up to rxBatch waiting
// datagrams in one call, and sendmmsg sends the replies the engine queued
// while handling them in one call. Raw system calls (not x/net's
// ReadBatch/WriteBatch) because those allocate a net.Addr per datagram.
//
// The calls are RawSyscall6: the sockets are non-blocking (the net
// package's poller waits for readiness), so a call never blocks, and
// skipping the runtime's syscall bookkeeping keeps the scheduler's monitor
// from handing the processor to another thread during a long sendmmsg (a
// futex wake-up and a thread switch per batch, measured under load).

// rxBatch is the most datagrams one recvmmsg returns; rxSlot is the room of
// each: any UDP payload fits, so nothing a peer sends is truncated, as with
// OpenDHT's 64 KiB receive buffer.
const (
	rxBatch = 64
	rxSlot  = 64 * 1024
)

// batchReader reads datagrams from one socket with recvmmsg. The slots live
// in an anonymous mapping: the kernel only backs the pages a datagram
// touches, so 64 slots of 64 KiB cost a few pages of RSS per socket, not
// 4 MiB (many nodes share a process with dhtnode --nodes).
type batchReader struct {
	rc     syscall.RawConn
	region []byte
	hs     [rxBatch]unix.Mmsghdr
	iov    [rxBatch]unix.Iovec
	names  [rxBatch]unix.RawSockaddrInet6
}

func newBatchReader(c *net.UDPConn) (*batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	region, err := unix.Mmap(-1, 0, rxBatch*rxSlot, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	r := &batchReader{rc: rc, region: region}
	for i := range r.hs {
		r.iov[i].Base = &region[i*rxSlot]
		r.iov[i].SetLen(rxSlot)
		r.hs[i].Hdr.Iov = &r.iov[i]
		r.hs[i].Hdr.SetIovlen(1)
	}
	return r, nil
}

// close releases the slots; no datagram returned by read may be used after.
func (r *batchReader) close() {
	if r.region != nil {
		_ = unix.Munmap(r.region)
		r.region = nil
	}
}

// read waits for datagrams and calls fn for each of those waiting (at most
// rxBatch). data is only valid during the call. Errors are those of the
// socket: net.ErrClosed once closed, others (ICMP reports) are transient.
func (r *batchReader) read(fn func(data []byte, from netip.AddrPort)) error {
	for i := range r.hs {
		r.hs[i].Hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.hs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		r.hs[i].Hdr.Flags = 0
		r.hs[i].Len = 0
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hs[0])), rxBatch, 0, 0, 0)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until readable
			}
			n, errno = int(r1), e
			return true
		}
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	for i := 0; i < n; i++ {
		from, ok := sockaddrAddrPort(&r.names[i], r.hs[i].Hdr.Namelen)
		if !ok {
			continue
		}
		off := i * rxSlot
		fn(r.region[off:off+int(r.hs[i].Len)], from)
	}
	return nil
}

// sockaddrAddrPort decodes a sockaddr_in or sockaddr_in6 the kernel wrote.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6, namelen uint32) (netip.AddrPort, bool) {
	switch sa.Family {
	case unix.AF_INET:
		if namelen < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}, false
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), ntohs(sa4.Port)), true
	case unix.AF_INET6:
		if namelen < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}, false
		}
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(zoneName(int(sa.Scope_id)))
		}
		return netip.AddrPortFrom(a, ntohs(sa.Port)), true
	}
	return netip.AddrPort{}, false
}

// zoneName is the interface name of a scope id, as the net package names
// zones (link-local peers only: not on the fast path).
func zoneName(idx int) string {
	if ifi, err := net.InterfaceByIndex(idx); err == nil {
		return ifi.Name
	}
	return strconv.Itoa(idx)
}

// ntohs and htons convert the port field, which holds network byte order in
// a host-order uint16.
func ntohs(p uint16) uint16 {
	var b [2]byte
	*(*uint16)(unsafe.Pointer(&b[0])) = p
	return binary.BigEndian.Uint16(b[:])
}

func htons(p uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], p)
	return *(*uint16)(unsafe.Pointer(&b[0]))
}

// batchWriter sends queued datagrams of one socket with sendmmsg. Runs of
// datagrams of one size to one destination (a burst of replies to one
// client: equal replies have equal sizes) go as one UDP GSO message
// (UDP_SEGMENT): the kernel routes it once and cuts it into the same
// datagrams, each with its own UDP header, as separate sends would have
// made. If the kernel refuses GSO on a path, the writer stops using it.
type batchWriter struct {
	c      *net.UDPConn
	rc     syscall.RawConn
	v6     bool
	noGSO  bool
	hs     [txBatch]unix.Mmsghdr
	iov    [txBatch]unix.Iovec
	names  [txBatch]unix.RawSockaddrInet6
	cmsg   [txBatch][cmsgSegSpace]byte
	groups [txBatch]txGroup // the queued datagrams each header carries
}

// txGroup is the run of queued datagrams one header sends.
type txGroup struct{ first, count int }

// cmsgSegSpace is the room of one UDP_SEGMENT control message (a uint16),
// rounded up to the platform's alignment as CMSG_SPACE does.
const cmsgSegSpace = (unix.SizeofCmsghdr + 2 + 7) &^ 7

// GSO limits: the kernel's UDP_MAX_SEGMENTS is 64 on older kernels, and a
// GSO message must fit in one IP datagram.
const (
	gsoMaxSegments = 64
	gsoMaxBytes    = 60000
)

func newBatchWriter(c *net.UDPConn, v6 bool) *batchWriter {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	w := &batchWriter{c: c, rc: rc, v6: v6}
	for i := range w.hs {
		w.hs[i].Hdr.Iov = &w.iov[i]
		w.hs[i].Hdr.SetIovlen(1)
		w.hs[i].Hdr.Name = (*byte)(unsafe.Pointer(&w.names[i]))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&w.cmsg[i][0]))
		h.Level = unix.SOL_UDP
		h.Type = unix.UDP_SEGMENT
		h.SetLen(unix.CmsgLen(2))
	}
	return w
}

// write sends msgs (at most txBatch) whose bytes are in buf. A datagram the
// kernel refuses is skipped, as a failed sendto of a reply is ignored; the
// rest still go out, in order.
func (w *batchWriter) write(buf []byte, msgs []outMsg) {
	k := 0
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		to := m.to
		if m.n == 0 {
			continue
		}
		if to.Addr().Zone() != "" {
			// Scope ids need the net package's zone lookup: rare, send alone.
			w.flushHeaders(buf, msgs, k)
			k = 0
			_, _ = w.c.WriteToUDPAddrPort(buf[m.off:m.off+m.n], to)
			continue
		}
		// The run of datagrams this header carries: same destination,
		// contiguous bytes, equal sizes (the last may be shorter).
		first, size, total := i, m.n, m.n
		for !w.noGSO && i+1 < len(msgs) && i+1-first < gsoMaxSegments {
			nx := msgs[i+1]
			if nx.to != to || nx.off != msgs[i].off+msgs[i].n || nx.n == 0 || nx.n > size ||
				msgs[i].n != size || total+nx.n > gsoMaxBytes {
				break
			}
			i++
			total += nx.n
		}
		h := &w.hs[k]
		w.groups[k] = txGroup{first: first, count: i + 1 - first}
		w.iov[k].Base = &buf[m.off]
		w.iov[k].SetLen(int(total))
		if i > first {
			*(*uint16)(unsafe.Pointer(&w.cmsg[k][unix.SizeofCmsghdr])) = uint16(size)
			h.Hdr.Control = &w.cmsg[k][0]
			h.Hdr.SetControllen(cmsgSegSpace)
		} else {
			h.Hdr.Control = nil
			h.Hdr.SetControllen(0)
		}
		sa := &w.names[k]
		if w.v6 {
			*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: htons(to.Port()), Addr: to.Addr().As16()}
			h.Hdr.Namelen = unix.SizeofSockaddrInet6
		} else {
			sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
			*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: htons(to.Port()), Addr: to.Addr().As4()}
			h.Hdr.Namelen = unix.SizeofSockaddrInet4
		}
		k++
	}
	w.flushHeaders(buf, msgs, k)
}

// flushHeaders sends the first k prepared headers.
func (w *batchWriter) flushHeaders(buf []byte, msgs []outMsg, k int) {
	for done := 0; done < k; {
		var n int
		var errno syscall.Errno
		err := w.rc.Write(func(fd uintptr) bool {
			for {
				r1, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.hs[done])), uintptr(k-done), 0, 0, 0)
				switch e {
				case unix.EINTR:
					continue
				case unix.EAGAIN:
					return false // socket buffer full: wait, as sendto would
				}
				n, errno = int(r1), e
				return true
			}
		})
		if err != nil {
			return // closed
		}
		if errno != 0 || n <= 0 {
			// The first header failed. A GSO message the path cannot
			// segment (EIO, EINVAL, ...) is sent again datagram by
			// datagram, and GSO is off from now on; otherwise the
			// datagrams are dropped, as a failed sendto of a reply is.
			if g := w.groups[done]; g.count > 1 && gsoRefused(errno) {
				w.noGSO = true
				for _, m := range msgs[g.first : g.first+g.count] {
					_, _ = w.c.WriteToUDPAddrPort(buf[m.off:m.off+m.n], m.to)
				}
			}
			done++
			continue
		}
		done += n
	}
}

// gsoRefused lists the errors of a kernel or path without UDP GSO.
func gsoRefused(e syscall.Errno) bool {
	return e == unix.EIO || e == unix.EINVAL || e == unix.EOPNOTSUPP || e == unix.ENOPROTOOPT || e == unix.EMSGSIZE
}
