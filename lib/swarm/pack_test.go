package swarm

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// allObjects lists every object reachable from HEAD of r.
func allObjects(t testing.TB, r *Repo) []plumbing.Hash {
	t.Helper()
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := r.packObjects(head, nil)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// checkPack decodes pack and compares every object with r's.
func checkPack(t *testing.T, r *Repo, pack []byte, want []plumbing.Hash) {
	t.Helper()
	objs, err := readPack(pack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(want) {
		t.Errorf("%d objects, want %d", len(objs), len(want))
	}
	for _, h := range want {
		o, ok := objs[h]
		if !ok {
			t.Errorf("%s missing", h)
			continue
		}
		data, err := r.ReadObject(h, o.typ)
		if err != nil || !bytes.Equal(data, o.data) {
			t.Errorf("%s differs (%v)", h, err)
		}
	}
}

// Packs written by go-git (ref-deltas, as our server sends with a delta
// window) and by stock git (ofs-deltas) decode to the repository's objects.
func TestReadPack(t *testing.T) {
	r := openFixture(t, "group")
	objs := allObjects(t, r)
	for _, window := range []uint{0, 10} {
		var buf bytes.Buffer
		if _, err := packfile.NewEncoder(&buf, r.Storer(), true).Encode(objs, window); err != nil {
			t.Fatal(err)
		}
		checkPack(t, r, buf.Bytes(), objs)
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI")
		}
		t.Skip("no git for a pack with ofs-deltas")
	}
	cmd := exec.Command(gitBin, "pack-objects", "--stdout", "--revs", "--delta-base-offset", "--window=50", "--depth=10")
	cmd.Dir = r.Path
	cmd.Stdin = strings.NewReader("HEAD\n")
	pack, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	checkPack(t, r, pack, objs)
}

// packOf assembles a pack from raw entries (header bytes + zlib data).
func packOf(entries ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	binary.Write(&b, binary.BigEndian, uint32(len(entries)))
	for _, e := range entries {
		b.Write(e)
	}
	sum := sha1.Sum(b.Bytes())
	return append(b.Bytes(), sum[:]...)
}

// entry is one pack entry: type, declared size, extra header bytes, and
// the zlib stream of data.
func entry(typ int, size int, extra []byte, data []byte) []byte {
	var hdr []byte
	c := byte(typ<<4) | byte(size&15)
	size >>= 4
	for size > 0 {
		hdr = append(hdr, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	hdr = append(hdr, c)
	hdr = append(hdr, extra...)
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(data)
	w.Close()
	return append(hdr, z.Bytes()...)
}

func TestReadPackRefusesHostilePacks(t *testing.T) {
	blob := entry(packBlob, 5, nil, []byte("hello"))
	blobID := HashObject(plumbing.BlobObject, []byte("hello"))
	// A delta copying the whole 5-byte base: header 5, 5; copy offset 0 size 5.
	copyAll := []byte{5, 5, 0x90, 5}
	huge := binary.AppendUvarint([]byte{5}, 1<<40)
	cases := map[string][]byte{
		"bad checksum": append(packOf(blob)[:len(packOf(blob))-1], 0),
		"count too large": func() []byte {
			p := packOf(blob)
			binary.BigEndian.PutUint32(p[8:], 1000)
			s := sha1.Sum(p[:len(p)-20])
			return append(p[:len(p)-20], s[:]...)
		}(),
		"size lies":       packOf(entry(packBlob, 4, nil, []byte("hello"))),
		"size too large":  packOf(entry(packBlob, maxObjectSize+1, nil, nil)),
		"self ofs-delta":  packOf(blob, entry(packOfsDelta, len(copyAll), []byte{0}, copyAll)),
		"ofs out of pack": packOf(blob, entry(packOfsDelta, len(copyAll), []byte{0x7f}, copyAll)),
		"ref-delta cycle": packOf(entry(packRefDelta, len(copyAll), bytes.Repeat([]byte{1}, 20), copyAll), entry(packRefDelta, len(copyAll), bytes.Repeat([]byte{1}, 20), copyAll)),
		"huge delta":      packOf(blob, entry(packRefDelta, len(huge), blobID[:], huge)),
		"unknown type":    packOf(entry(5, 5, nil, []byte("hello"))),
		"trailing garbage": func() []byte {
			p := packOf(blob)
			b := append(append([]byte{}, p[:len(p)-20]...), 0)
			s := sha1.Sum(b)
			return append(b, s[:]...)
		}(),
	}
	for name, pack := range cases {
		if _, err := readPack(pack, nil); !errors.Is(err, ErrPack) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The same shapes done right decode.
	objs, err := readPack(packOf(blob, entry(packRefDelta, len(copyAll), blobID[:], copyAll)), nil)
	if err != nil || len(objs) != 1 || string(objs[blobID].data) != "hello" {
		t.Errorf("ref-delta: %v %v", objs, err)
	}
}

// tinyRepo is a small history (no certificates), so that fuzz seeds stay
// small enough for the fuzzer to mutate quickly.
func tinyRepo(t testing.TB) (*Repo, plumbing.Hash) {
	t.Helper()
	r, err := NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	var parent []plumbing.Hash
	var head plumbing.Hash
	for i, body := range []string{"hello", "hello again, a longer line that deltas well: hello"} {
		blob, _ := r.WriteBlob([]byte(body))
		tree, err := r.WriteTree(Files{"a/b": {Mode: ModeFile, Hash: blob}, "c": {Mode: ModeFile, Hash: EmptyBlob}})
		if err != nil {
			t.Fatal(err)
		}
		r.WriteBlob(nil)
		p := Person{Name: "x", Email: "y", When: int64(i)}
		c := &Commit{Tree: tree, Parents: parent, Author: p, Committer: p, Message: []byte(body)}
		raw, _ := c.Payload()
		head, _ = r.WriteObject(plumbing.CommitObject, raw)
		parent = []plumbing.Hash{head}
	}
	if err := r.Storer().SetReference(plumbing.NewHashReference(MainBranch, head)); err != nil {
		t.Fatal(err)
	}
	return r, head
}

// readPack never panics and never allocates beyond its limits.
func FuzzReadPack(f *testing.F) {
	r, _ := tinyRepo(f)
	objs := allObjects(f, r)
	var buf bytes.Buffer
	if _, err := packfile.NewEncoder(&buf, r.Storer(), true).Encode(objs, 10); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	blob := entry(packBlob, 5, nil, []byte("hello"))
	f.Add(packOf(blob, entry(packOfsDelta, 4, []byte{0}, []byte{5, 5, 0x90, 5})))
	f.Add(packOf(blob))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Fix the checksum so that the fuzzer reaches the objects.
		if len(data) >= 32 {
			data = append([]byte{}, data...)
			s := sha1.Sum(data[:len(data)-20])
			copy(data[len(data)-20:], s[:])
		}
		readPack(data, nil)
	})
}
