package swarm

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// A pack received from a peer is hostile input: it is read here with hard
// limits rather than by go-git's parser, which trusts declared sizes and
// delta chains (a small pack could claim gigabytes, or a delta its own
// base). Every object is bounded, deltas must resolve to objects of the
// pack (or of the repository) without cycles, and the checksum must hold.

const (
	// maxPackObjects bounds the object count a pack may declare.
	maxPackObjects = 1 << 22
	// maxPackInflated bounds the total size of a pack's objects once
	// inflated: jamid bounds what it receives (MaxFetchSize) and Jami
	// objects compress little, so this leaves ample room.
	maxPackInflated = 2 * MaxFetchSize
)

// ErrPack is wrapped by every malformed pack error.
var ErrPack = errors.New("malformed pack")

func packErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPack, fmt.Sprintf(format, args...))
}

// Pack object types (gitformat-pack).
const (
	packCommit   = 1
	packTree     = 2
	packBlob     = 3
	packTag      = 4
	packOfsDelta = 6
	packRefDelta = 7
)

type packEntry struct {
	typ     plumbing.ObjectType // resolved type (0 until resolved)
	data    []byte              // content, or the delta until resolved
	ofsBase int64               // for an ofs-delta: the base's offset
	refBase plumbing.Hash       // for a ref-delta: the base's id
	delta   bool
}

// readPack decodes a version 2 or 3 pack and returns its objects by id.
// base looks up a ref-delta base outside the pack (nil: none allowed).
func readPack(data []byte, base func(plumbing.Hash) (plumbing.ObjectType, []byte, error)) (map[plumbing.Hash]packObject, error) {
	if len(data) < 12+20 {
		return nil, packErr("%d bytes", len(data))
	}
	body, trailer := data[:len(data)-20], data[len(data)-20:]
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], trailer) {
		return nil, packErr("checksum mismatch")
	}
	if string(body[:4]) != "PACK" {
		return nil, packErr("no PACK signature")
	}
	if v := binary.BigEndian.Uint32(body[4:8]); v != 2 && v != 3 {
		return nil, packErr("version %d", v)
	}
	count := binary.BigEndian.Uint32(body[8:12])
	if count > maxPackObjects || int64(count) > int64(len(body)-12)/2 {
		return nil, packErr("%d objects in %d bytes", count, len(body))
	}
	entries := make([]*packEntry, 0, count)
	byOffset := map[int64]int{}
	budget := int64(maxPackInflated)
	r := bytes.NewReader(body)
	r.Seek(12, io.SeekStart)
	for range count {
		off := int64(len(body)) - int64(r.Len())
		typ, size, err := readPackHeader(r)
		if err != nil {
			return nil, err
		}
		e := &packEntry{}
		switch typ {
		case packCommit, packTree, packBlob, packTag:
			e.typ = plumbing.ObjectType(typ)
		case packOfsDelta:
			rel, err := readOfsOffset(r)
			if err != nil {
				return nil, err
			}
			if rel <= 0 || rel > off-12 {
				return nil, packErr("delta at %d points outside the pack", off)
			}
			e.ofsBase, e.delta = off-rel, true
			if _, ok := byOffset[e.ofsBase]; !ok {
				return nil, packErr("delta at %d has no object at its base offset", off)
			}
		case packRefDelta:
			if _, err := io.ReadFull(r, e.refBase[:]); err != nil {
				return nil, packErr("truncated delta base")
			}
			e.delta = true
		default:
			return nil, packErr("object type %d at %d", typ, off)
		}
		if size > maxObjectSize || size > budget {
			return nil, packErr("object of %d bytes at %d", size, off)
		}
		if e.data, err = inflate(r, size); err != nil {
			return nil, packErr("object at %d: %v", off, err)
		}
		budget -= size
		byOffset[off] = len(entries)
		entries = append(entries, e)
	}
	if r.Len() != 0 {
		return nil, packErr("%d bytes after the last object", r.Len())
	}
	// Resolve deltas: an ofs-delta's base comes earlier; a ref-delta's base
	// may be anywhere in the pack, so passes repeat while they progress.
	objs := map[plumbing.Hash]packObject{}
	resolved := 0
	finish := func(e *packEntry) {
		h := HashObject(e.typ, e.data)
		objs[h] = packObject{typ: e.typ, data: e.data}
		e.delta = false
		resolved++
	}
	for _, e := range entries {
		if !e.delta {
			finish(e)
		}
	}
	for resolved < len(entries) {
		progress := false
		for _, e := range entries {
			if !e.delta {
				continue
			}
			var btyp plumbing.ObjectType
			var bdata []byte
			if e.refBase.IsZero() {
				b := entries[byOffset[e.ofsBase]]
				if b.delta {
					continue
				}
				btyp, bdata = b.typ, b.data
			} else if o, ok := objs[e.refBase]; ok {
				btyp, bdata = o.typ, o.data
			} else {
				continue
			}
			out, err := applyDelta(bdata, e.data, &budget)
			if err != nil {
				return nil, err
			}
			e.typ, e.data = btyp, out
			finish(e)
			progress = true
		}
		if progress {
			continue
		}
		// What is left needs bases from outside the pack (a thin pack).
		for _, e := range entries {
			if !e.delta || e.refBase.IsZero() || base == nil {
				continue
			}
			btyp, bdata, err := base(e.refBase)
			if err != nil {
				continue
			}
			out, err := applyDelta(bdata, e.data, &budget)
			if err != nil {
				return nil, err
			}
			e.typ, e.data = btyp, out
			finish(e)
			progress = true
		}
		if !progress {
			return nil, packErr("%d deltas without a base", len(entries)-resolved)
		}
	}
	return objs, nil
}

type packObject struct {
	typ  plumbing.ObjectType
	data []byte
}

// readPackHeader reads an object's type and inflated size.
func readPackHeader(r io.ByteReader) (typ int, size int64, err error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, 0, packErr("truncated object header")
	}
	typ = int(c>>4) & 7
	size = int64(c & 15)
	shift := 4
	for c&0x80 != 0 {
		if c, err = r.ReadByte(); err != nil {
			return 0, 0, packErr("truncated object header")
		}
		if shift > 56 {
			return 0, 0, packErr("object size overflows")
		}
		size |= int64(c&0x7f) << shift
		shift += 7
	}
	return typ, size, nil
}

// readOfsOffset reads an ofs-delta's base distance (git's offset
// encoding: each continuation adds one before shifting).
func readOfsOffset(r io.ByteReader) (int64, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, packErr("truncated delta offset")
	}
	off := int64(c & 0x7f)
	for c&0x80 != 0 {
		if c, err = r.ReadByte(); err != nil {
			return 0, packErr("truncated delta offset")
		}
		if off > 1<<48 {
			return 0, packErr("delta offset overflows")
		}
		off = (off+1)<<7 | int64(c&0x7f)
	}
	return off, nil
}

// inflate reads one zlib stream of exactly size bytes from r, leaving r
// just after it (bytes.Reader is an io.ByteReader, so zlib reads no
// further than the stream).
func inflate(r *bytes.Reader, size int64) ([]byte, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(zr, size+1))
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, fmt.Errorf("inflated to %d bytes, header says %d", n, size)
	}
	// Reach the end of the stream (and its checksum).
	var one [1]byte
	if k, err := zr.Read(one[:]); k != 0 || err != io.EOF {
		if err == nil || k != 0 {
			err = errors.New("more data than the header says")
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// applyDelta checks a delta's declared target size against the limits
// before go-git's (bounds-checked) patcher builds it.
func applyDelta(base, delta []byte, budget *int64) ([]byte, error) {
	p := delta
	if _, n := binary.Uvarint(p); n <= 0 {
		return nil, packErr("delta header")
	} else {
		p = p[n:]
	}
	target, n := binary.Uvarint(p)
	if n <= 0 {
		return nil, packErr("delta header")
	}
	if target > maxObjectSize || int64(target) > *budget {
		return nil, packErr("delta target of %d bytes", target)
	}
	out, err := packfile.PatchDelta(base, delta)
	if err != nil {
		return nil, packErr("delta: %v", err)
	}
	*budget -= int64(len(out))
	return out, nil
}
