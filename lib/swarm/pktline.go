package swarm

import (
	"errors"
	"fmt"
	"io"
)

// pkt-lines (gitprotocol-common): four lowercase hex digits giving the
// length of the line including themselves, then the data; "0000" is a
// flush. The p2p git dialect (swarm.md §5.4) is made of nothing else.

const (
	// MaxPktLen is the largest pkt-line, length digits included.
	MaxPktLen = 65520
	// MaxPktData is the largest payload of one pkt-line.
	MaxPktData = MaxPktLen - 4
	// maxSideBandData is what jamid's server puts in one side-band packet:
	// a 65520-byte pkt-line holds the band byte and 65515 data bytes.
	maxSideBandData = MaxPktData - 1
)

// ErrPktLine is wrapped by every malformed pkt-line error.
var ErrPktLine = errors.New("malformed pkt-line")

// PktReader reads pkt-lines from a byte stream.
type PktReader struct {
	r   io.Reader
	buf [MaxPktLen]byte
}

// NewPktReader reads pkt-lines from r.
func NewPktReader(r io.Reader) *PktReader { return &PktReader{r: r} }

// Read returns the next pkt-line's payload, or flush = true for "0000".
// The payload is only valid until the next call. A stream that ends
// before a new line starts gives io.EOF; one that ends inside a line gives
// io.ErrUnexpectedEOF. Lengths 1 to 3 (protocol v2's delimiters and
// invalid lengths) and non-hex digits are errors.
func (p *PktReader) Read() (payload []byte, flush bool, err error) {
	hdr := p.buf[:4]
	if _, err := io.ReadFull(p.r, hdr); err != nil {
		return nil, false, err
	}
	n := 0
	for _, c := range hdr {
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'f':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			// git accepts upper case when reading; so do we.
			d = int(c-'A') + 10
		default:
			return nil, false, fmt.Errorf("%w: length %q is not hex", ErrPktLine, hdr)
		}
		n = n<<4 | d
	}
	switch {
	case n == 0:
		return nil, true, nil
	case n < 4:
		return nil, false, fmt.Errorf("%w: special length %04x is not part of protocol v0", ErrPktLine, n)
	case n > MaxPktLen:
		return nil, false, fmt.Errorf("%w: length %d exceeds %d", ErrPktLine, n, MaxPktLen)
	}
	data := p.buf[4:n]
	if _, err := io.ReadFull(p.r, data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, err
	}
	return data, false, nil
}

// ReadLine is Read for text lines: a missing or present trailing "\n" is
// removed (git's packet_read with PACKET_READ_CHOMP_NEWLINE).
func (p *PktReader) ReadLine() (line string, flush bool, err error) {
	b, flush, err := p.Read()
	if err != nil || flush {
		return "", flush, err
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return string(b), false, nil
}

// AppendPkt appends data as one pkt-line to dst.
func AppendPkt(dst, data []byte) ([]byte, error) {
	if len(data) > MaxPktData {
		return dst, fmt.Errorf("pkt-line payload of %d bytes exceeds %d", len(data), MaxPktData)
	}
	const hexdigits = "0123456789abcdef"
	n := len(data) + 4
	dst = append(dst, hexdigits[n>>12&15], hexdigits[n>>8&15], hexdigits[n>>4&15], hexdigits[n&15])
	return append(dst, data...), nil
}

// pktString is AppendPkt of a string for lines known to be short.
func pktString(s string) []byte {
	b, err := AppendPkt(nil, []byte(s))
	if err != nil {
		panic(err) // protocol lines we build are a few dozen bytes
	}
	return b
}

// flushPkt is the flush packet.
var flushPkt = []byte("0000")
