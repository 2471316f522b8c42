package main

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

const testID = "d9b52ffb583b1ea8bed701d03c4aef1a936c5554"

func touch(t *testing.T, dir, name string, age time.Duration) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if age > 0 {
		old := time.Now().Add(-age)
		os.Chtimes(p, old, old)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	other := "09f60d0223d13991c8329e4b6cde0eadd69553ab"
	for _, n := range []string{
		testID + "-20200101T000000Z.gz",
		testID + "-20210101T000000Z.gz",
		testID + "-20220101T000000Z.gz",
		testID + "-20990101T000000Z.gz", // from a clock that was ahead
		other + "-20000101T000000Z.gz",  // another account
		testID + "-2020.gz",             // not our pattern
		"notes.txt",
	} {
		touch(t, dir, n, 0)
	}
	touch(t, dir, "."+testID+"-20230101T000000Z.gz.tmp123", 2*staleTemp) // left by a killed run
	touch(t, dir, "."+testID+"-20240101T000000Z.gz.tmp456", 0)           // maybe being written now
	os.Mkdir(filepath.Join(dir, testID+"-20190101T000000Z.gz"), 0o700)   // a folder, not ours

	current := testID + "-20230601T000000Z.gz"
	touch(t, dir, current, 0)
	var res backupResult
	if err := prune(dir, testID, current, 2, &res); err != nil {
		t.Fatal(err)
	}
	// The new backup is kept even though a "newer" name exists.
	want := []string{
		"." + testID + "-20240101T000000Z.gz.tmp456",
		other + "-20000101T000000Z.gz",
		testID + "-2020.gz",
		testID + "-20190101T000000Z.gz",
		current,
		testID + "-20990101T000000Z.gz",
		"notes.txt",
	}
	sort.Strings(want)
	got := names(t, dir)
	if len(got) != len(want) {
		t.Fatalf("left %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("left %q, want %q", got, want)
		}
	}
	if len(res.Kept) != 2 || filepath.Base(res.Kept[0]) != current || len(res.Pruned) != 3 {
		t.Fatalf("kept %q pruned %q", res.Kept, res.Pruned)
	}

	// keep 0: nothing is pruned.
	res = backupResult{}
	if err := prune(dir, testID, current, 0, &res); err != nil || len(res.Pruned) != 0 || len(res.Kept) != 2 {
		t.Fatalf("keep 0: kept %q pruned %q %v", res.Kept, res.Pruned, err)
	}
}

func TestWriteBackupNames(t *testing.T) {
	dir := t.TempDir()
	// Two backups in a row get two names, sorted by time, neither overwritten.
	p1, err := writeBackup(dir, testID, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := writeBackup(dir, testID, []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	re := backupName(testID)
	if p1 == p2 || !re.MatchString(filepath.Base(p1)) || !re.MatchString(filepath.Base(p2)) || p1 > p2 {
		t.Fatalf("names %s, %s", p1, p2)
	}
	if b, _ := os.ReadFile(p1); string(b) != "one" {
		t.Fatalf("%s holds %q", p1, b)
	}
	fi, err := os.Stat(p2)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
}
