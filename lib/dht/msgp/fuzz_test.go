package msgp

import (
	"bytes"
	"math"
	"testing"
)

// FuzzReader: no input makes a reader panic or read past its input; Raw
// returns a prefix that reads back as exactly one object; Container's
// count always fits what is left; Find agrees with a streaming walk; and a
// number read back re-encodes, in the smallest form, to a number that
// reads the same.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"85 01 02 91 a1 78 03 c4 01 78 04 a1 78 05 a1 78 06",
		"82 a1 61 92 01 c4 01 ff a1 62 c0",
		"de 0001 a1 70 81 00 82 a1 6f 00 a1 64 c4 01 41",
		"d0 05", "d3 ffffffffffffffff", "cf ffffffffffffffff", "ca 3f800000", "d5 07 01 02",
		"c7 01 05 ff", "d9 02 6869", "93 01 cc ff 00", "dd ffffffff 01", "df ffffffff", "c1",
		"91 91 91 91 91 c0",
	} {
		f.Add(h(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		raw, err := r.Raw()
		if err == nil {
			if r.Pos() > len(b) || !bytes.Equal(raw, b[:r.Pos()]) {
				t.Fatalf("Raw is not the prefix read: %d of %d", r.Pos(), len(b))
			}
			rr := NewReader(raw)
			if rr.Skip() != nil || rr.Pos() != len(raw) {
				t.Fatal("a span does not read back as one object")
			}
		}

		for _, k := range []Kind{KindArray, KindMap} {
			r = NewReader(b)
			n, err := r.Container(k)
			if err == nil && n*(1+int(k-KindArray)) > len(b)-r.Pos() {
				t.Fatalf("Container let through %d elements with %d bytes left", n, len(b)-r.Pos())
			}
		}

		// Every typed reader, from the start: no panic, never past the end.
		for i := range 8 {
			r = NewReader(b)
			switch i {
			case 0:
				if u, err := r.Uint(math.MaxUint64); err == nil {
					back := NewReader(AppendUint(nil, u))
					if v, err := back.Uint(math.MaxUint64); v != u || err != nil {
						t.Fatalf("uint %d re-reads as %d, %v", u, v, err)
					}
				}
			case 1:
				if v, err := r.Int(math.MinInt64, math.MaxInt64); err == nil {
					back := NewReader(AppendInt(nil, v))
					if w, err := back.Int(math.MinInt64, math.MaxInt64); w != v || err != nil {
						t.Fatalf("int %d re-reads as %d, %v", v, w, err)
					}
				}
			case 2:
				_, _ = r.Text()
			case 3:
				if p, err := r.Blob(); err == nil {
					back := NewReader(AppendBin(nil, p))
					if q, err := back.Blob(); !bytes.Equal(p, q) || err != nil {
						t.Fatal("blob does not re-read")
					}
				}
			case 4:
				_, _ = r.Bool()
			case 5:
				_, _ = r.Bin()
			case 6:
				_, _, _, _ = r.Head()
			case 7:
				_, _, _ = r.Key()
			}
			if r.Pos() > len(b) {
				t.Fatalf("reader %d went past the end", i)
			}
		}

		// Find returns the value of the first str key, as a walk sees it.
		m, err := ReadMap(b)
		if err != nil {
			return
		}
		r = NewReader(m)
		n, err := r.Container(KindMap)
		if err != nil {
			t.Fatalf("ReadMap accepted a map Container refuses: %v", err)
		}
		seen := map[string]bool{}
		for range n {
			k, ok, err := r.Key()
			if err != nil {
				t.Fatal(err)
			}
			v, err := r.Raw()
			if err != nil {
				t.Fatal(err)
			}
			if ok && !seen[string(k)] {
				seen[string(k)] = true
				if got := m.Find(string(k)); !bytes.Equal(got, v) {
					t.Fatalf("Find(%q) = %x, walk gives %x", k, got, v)
				}
			}
		}
		if r.Pos() != len(m) {
			t.Fatalf("ReadMap span %d bytes, walk %d", len(m), r.Pos())
		}
	})
}
