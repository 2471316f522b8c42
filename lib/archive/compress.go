package archive

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// MaxSize bounds what is read or inflated: real archives are tens of
// kilobytes, and a few bytes of deflate data can expand to gigabytes.
const MaxSize = 64 << 20

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

func isGzip(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }

// gunzip inflates a gzip stream (all members), bounded by MaxSize.
func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return readBounded(r, "gzip")
}

// inflate decompresses zlib or gzip data, the two formats jamid's
// decompressor detects (windowBits 32+15).
func inflate(b []byte) ([]byte, error) {
	if isGzip(b) {
		return gunzip(b)
	}
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	return readBounded(r, "zlib")
}

func readBounded(r io.ReadCloser, what string) ([]byte, error) {
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: truncated data", what)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(out) > MaxSize {
		return nil, fmt.Errorf("%s: inflates to more than %d MiB", what, MaxSize>>20)
	}
	return out, nil
}

// gzipBytes writes data as zlib's gzopen(path, "wb") does: one member, no
// name, mtime 0, XFL 0, OS 3 (Unix).
func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Header.OS = 3
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// zlibBytes is zlib's compress() at the default level (header 78 9C).
func zlibBytes(data []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}
