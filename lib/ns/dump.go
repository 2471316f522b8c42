package ns

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// DumpEntry is one record in the reference's dump format (read_names.js,
// names.json; write_names.js reads it back): name, addr, owner, and the key
// material when the record is signed. The journal uses the same members, plus
// where the record was confirmed.
type DumpEntry struct {
	Name      string `json:"name"`
	Addr      string `json:"addr"`
	Owner     string `json:"owner"`
	PublicKey string `json:"publickey,omitempty"`
	Signature string `json:"signature,omitempty"`
	Tx        string `json:"tx,omitempty"`
	Block     uint64 `json:"block,omitempty"`
}

// Entry is the dump form of a record (addresses 0x and lowercase).
func (r Record) Entry() DumpEntry {
	return DumpEntry{Name: r.Name, Addr: r.Addr.Hex(), Owner: r.Owner.Hex(), PublicKey: r.PublicKey, Signature: r.Signature}
}

// Record reads a dump entry back. Addresses may carry 0x (or, for addr,
// jami:/ring:) and any case; nothing else is checked here (CheckRecord).
func (e DumpEntry) Record() (Record, error) {
	r := Record{Name: e.Name, PublicKey: e.PublicKey, Signature: e.Signature}
	var err error
	if r.Addr, err = ParseJamiID(e.Addr); err != nil {
		return r, fmt.Errorf("name %q: addr %q: %w", e.Name, e.Addr, err)
	}
	if r.Owner, err = ParseOwner(e.Owner); err != nil {
		return r, fmt.Errorf("name %q: owner %q: %w", e.Name, e.Owner, err)
	}
	return r, nil
}

// WriteDump writes records as a JSON array, one entry per line.
func WriteDump(w io.Writer, recs []Record) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i, r := range recs {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		bw.Write(mustJSON(r.Entry()))
	}
	if len(recs) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // strings and integers only
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// ReadDump reads records written by WriteDump or read_names.js (a JSON
// array), or a journal (one JSON object a line).
func ReadDump(data []byte) ([]Record, error) {
	t := bytes.TrimSpace(data)
	var entries []DumpEntry
	if len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &entries); err != nil {
			return nil, fmt.Errorf("not a name dump: %w", err)
		}
	} else {
		for i, line := range bytes.Split(t, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var e DumpEntry
			if err := json.Unmarshal(line, &e); err != nil {
				return nil, fmt.Errorf("line %d: not a name dump entry: %w", i+1, err)
			}
			entries = append(entries, e)
		}
	}
	recs := make([]Record, 0, len(entries))
	for i, e := range entries {
		r, err := e.Record()
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// Journal is the append-only file of confirmed registrations (one dump
// entry a line, with tx and block), written and synced before a
// registration is answered. After a crash of the embedded chain, the
// records it lost are re-applied from it (Service.Recover).
type Journal struct {
	mu    sync.Mutex
	f     *os.File
	off   int64 // end of the last complete line
	names map[string]bool
}

// OpenJournal opens (or creates, 0600) the journal at path and returns the
// records it holds. A last line cut short by a crash was never acknowledged:
// it is dropped. Any other unreadable line is an error.
func OpenJournal(path string) (*Journal, []Record, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	recs, good, err := readJournal(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	j := &Journal{f: f, off: good, names: map[string]bool{}}
	for _, r := range recs {
		j.names[r.Name] = true
	}
	return j, recs, nil
}

// readJournal parses complete lines and returns the offset after the last
// good one.
func readJournal(f *os.File) ([]Record, int64, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, err
	}
	var recs []Record
	var off int64
	line := 0
	for len(data) > 0 {
		line++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // torn tail: never synced as a whole line, never answered
		}
		var e DumpEntry
		if err := json.Unmarshal(data[:i], &e); err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", line, err)
		}
		r, err := e.Record()
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", line, err)
		}
		recs = append(recs, r)
		off += int64(i + 1)
		data = data[i+1:]
	}
	return recs, off, nil
}

// Append writes one confirmed registration and syncs it. A name already in
// the journal is not written again.
func (j *Journal) Append(r Record, rc Receipt) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("journal is closed")
	}
	if j.names[r.Name] {
		return nil
	}
	e := r.Entry()
	e.Tx, e.Block = rc.Tx, rc.Block
	line := append(mustJSON(e), '\n')
	_, err := j.f.Write(line)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		// Cut a partial line so the next append starts on a line of its own.
		j.f.Truncate(j.off)
		j.f.Seek(j.off, io.SeekStart)
		return fmt.Errorf("journal: %w", err)
	}
	j.off += int64(len(line))
	j.names[r.Name] = true
	return nil
}

// Has reports whether the journal holds name.
func (j *Journal) Has(name string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.names[name]
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
