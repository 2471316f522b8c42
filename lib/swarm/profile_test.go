package swarm

import (
	"reflect"
	"testing"
)

func TestProfileMatchesFixture(t *testing.T) {
	v := loadVectors(t)
	want := v.Repos["group"].ProfileAtHead
	info := ParseProfile([]byte(want))
	if !reflect.DeepEqual(info, map[string]string{"title": "My Group", "description": "Desc: with; semicolons", "avatar": "aGVsbG8="}) {
		t.Errorf("parsed %v", info)
	}
	if got := string(EncodeProfile(info)); got != want {
		t.Errorf("encoded %q", got)
	}
	// The fixture was produced by updates through D-Bus; merging the same
	// values over nothing gives the same bytes.
	if got := string(UpdateProfile(nil, info)); got != want {
		t.Errorf("update %q", got)
	}
}

func TestProfileQuirks(t *testing.T) {
	if got := string(EncodeProfile(nil)); got != "BEGIN:VCARD\nVERSION:2.1\nPHOTO;ENCODING=BASE64\n\n\nEND:VCARD" {
		t.Errorf("empty %q", got)
	}
	all := map[string]string{"title": "", "avatar": "", "rdvAccount": "a", "rdvDevice": "d", "mode": "2"}
	want := "BEGIN:VCARD\nVERSION:2.1\nFN:\nPHOTO;ENCODING=BASE64:\nRDV_ACCOUNT:a\n\nRDV_DEVICE:d\n\nEND:VCARD"
	if got := string(EncodeProfile(all)); got != want {
		t.Errorf("all %q", got)
	}
	got := ParseProfile([]byte("FN:first\nFN:second\nPHOTO;ENCODING=BASE64:a\nPHOTO;ENCODING=BASE64;TYPE=PNG:b\nnocolon\nRDV_DEVICE:x:y\r\n"))
	if !reflect.DeepEqual(got, map[string]string{"title": "first", "avatar": "b", "rdvDevice": "x:y\r"}) {
		t.Errorf("quirks %v", got)
	}
	up := ParseProfile(UpdateProfile([]byte("BEGIN:VCARD\nFN:old\nDESCRIPTION:d\nEND:VCARD"), map[string]string{"title": "new"}))
	if !reflect.DeepEqual(up, map[string]string{"title": "new", "description": "d"}) {
		t.Errorf("update %v", up)
	}
}

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\nVERSION:2.1\nFN:My Group\nDESCRIPTION:Desc: with; semicolons\nPHOTO;ENCODING=BASE64:aGVsbG8=\n\n\nEND:VCARD"))
	f.Add([]byte("PHOTO:a\nPHOTOX:b\n:\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info := ParseProfile(data)
		// What we write parses back to the same values (values never
		// contain a newline after a split on newlines).
		if got := ParseProfile(EncodeProfile(info)); !reflect.DeepEqual(got, info) {
			t.Fatalf("%v became %v", info, got)
		}
	})
}
