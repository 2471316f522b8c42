package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type capturedDatagram struct {
	Name string `json:"name"`
	From string `json:"from"`
	Hex  string `json:"hex"`
	raw  []byte
}

// loadCaptures reads testdata/captures.json, recorded by capture_test.go
// against Debian's dhtnode and python3-opendht 2.4.12 on loopback.
func loadCaptures(t testing.TB) []capturedDatagram {
	t.Helper()
	b, err := os.ReadFile("testdata/captures.json")
	if err != nil {
		t.Fatal(err)
	}
	var caps []capturedDatagram
	if err := json.Unmarshal(b, &caps); err != nil {
		t.Fatal(err)
	}
	for i := range caps {
		if caps[i].raw, err = hex.DecodeString(caps[i].Hex); err != nil {
			t.Fatal(err)
		}
	}
	return caps
}

// TestCapturesByteForByte decodes every datagram the real 2.4.12 peers sent
// and re-encodes it: the bytes must be identical, key order and msgpack
// types included. The probe's own datagrams (which the real peers accepted
// and answered) must survive the same round trip.
func TestCapturesByteForByte(t *testing.T) {
	caps := loadCaptures(t)
	real := 0
	var m Message
	for i, c := range caps {
		if err := m.Decode(c.raw); err != nil {
			t.Errorf("#%d %s from %s: decode: %v", i, c.Name, c.From, err)
			continue
		}
		out, err := m.AppendBinary(nil)
		if err != nil {
			t.Errorf("#%d %s from %s: encode: %v", i, c.Name, c.From, err)
			continue
		}
		if !bytes.Equal(out, c.raw) {
			t.Errorf("#%d %s from %s: re-encoding differs\n got %x\nwant %x", i, c.Name, c.From, out, c.raw)
		}
		if c.From != "probe" {
			real++
		}
	}
	if real < 40 {
		t.Errorf("only %d real datagrams in the captures", real)
	}
}
