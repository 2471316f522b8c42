package value

import (
	"os"
	"reflect"
	"testing"
)

// TestUnpacker reuses one Unpacker over values of every shape: each parse
// equals Unpack's, a clone taken earlier is not changed by later parses,
// and re-parsing a value already seen allocates nothing (unless a blob
// is an array of bytes, which OpenDHT accepts but never writes).
func TestUnpacker(t *testing.T) {
	var inputs [][]byte
	for _, name := range []string{"dhtnode-signed.bin", "dhtnode-plain.bin", "dhtnode-encrypted.bin", "announce-jami20230206.bin"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	inputs = append(inputs,
		unhex(t, pythonPutValue),
		unhex(t, `83 a2 "id" 05 a3 "dat" 81 a4 "body" 83 a4 "type" 03 a4 "data" 92 01 02 a5 "utype" a1 "u" a1 "p" 01`),
		unhex(t, `82 a2 "id" 01 a3 "dat" c4 00`), // an empty cypher: neither encrypted nor clear
	)
	var u Unpacker
	var clones, wants []*Value
	for round := 0; round < 2; round++ {
		for i, b := range inputs {
			want, err := Unpack(b)
			if err != nil {
				t.Fatalf("input %d: %v", i, err)
			}
			got, err := u.Unpack(b)
			if err != nil {
				t.Fatalf("input %d: Unpacker: %v", i, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("input %d, round %d: Unpacker gives %#v\nUnpack gives %#v", i, round, got, want)
			}
			clones, wants = append(clones, got.Clone()), append(wants, want)
		}
	}
	for i := range clones {
		if !reflect.DeepEqual(clones[i], wants[i]) {
			t.Errorf("clone %d changed by later parses: %#v", i, clones[i])
		}
	}
	if _, err := u.Unpack(unhex(t, `82 a2 "id" 01 a3 "dat" 81 a4 "bodx" 80`)); err == nil {
		t.Error("a value without body parsed")
	}
	for i, b := range inputs {
		if i == 5 {
			continue // its data is an array of bytes, which msgp.Reader.Blob builds
		}
		u.Unpack(b)
		if n := testing.AllocsPerRun(20, func() {
			if _, err := u.Unpack(b); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("input %d: %.1f allocations per parse of the same value", i, n)
		}
	}
}
