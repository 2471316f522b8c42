package swarm

import (
	"reflect"
	"testing"
)

func fixtureMaps(t *testing.T, name string) []map[string]string {
	r := openFixture(t, name)
	log, err := r.Log(LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var maps []map[string]string
	for _, e := range log {
		if m, ok := r.MessageMap2023(e); ok {
			maps = append(maps, m)
		}
	}
	return maps
}

func TestFoldGroupFixture(t *testing.T) {
	v := loadVectors(t)
	c := v.Repos["group"].Commits // newest first
	msgs := Fold(fixtureMaps(t, "group"))
	var ids, lps []string
	for _, m := range msgs {
		ids = append(ids, m.ID)
		lps = append(lps, m.LinearizedParent)
	}
	// The reaction (3) and the edit (4) are folded into the text (6).
	wantIDs := []string{c[0].ID, c[1].ID, c[2].ID, c[5].ID, c[6].ID, c[7].ID}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Fatalf("ids %v\nwant %v", ids, wantIDs)
	}
	if !reflect.DeepEqual(lps, append(wantIDs[1:], "")) {
		t.Errorf("linearized parents %v", lps)
	}
	text := msgs[4]
	if text.Body["body"] != "edited body" || len(text.Editions) != 1 || text.Editions[0]["body"] != c[6].ExpectedMap["body"] || text.Editions[0]["id"] != c[6].ID {
		t.Errorf("edited text %+v", text)
	}
	if len(text.Reactions) != 1 || text.Reactions[0]["body"] != "\U0001F44D" || text.Reactions[0]["id"] != c[3].ID {
		t.Errorf("reactions %v", text.Reactions)
	}
}

func TestFoldEditsAndRemovals(t *testing.T) {
	mk := func(id, typ string, kv ...string) map[string]string {
		m := map[string]string{"id": id, "type": typ}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	// Newest first: remove reaction r (edit with empty body), second edit
	// e2, first edit e1, reaction r, file f deleted by d, message a.
	msgs := Fold([]map[string]string{
		mk("m", TypeMerge),
		mk("rr", TypeText, "edit", "r", "body", ""),
		mk("d", TypeDataTransfer, "edit", "f", "tid", ""),
		mk("e2", TypeText, "edit", "a", "body", "v3"),
		mk("e1", TypeEdited, "edit", "a", "body", "v2"),
		mk("r", TypeText, "react-to", "a", "body", "+1"),
		mk("f", TypeDataTransfer, "tid", "7", "fileId", "f_7"),
		mk("a", TypeText, "body", "v1"),
	})
	if len(msgs) != 2 || msgs[0].ID != "f" || msgs[1].ID != "a" {
		t.Fatalf("%v", msgs)
	}
	f, a := msgs[0], msgs[1]
	if f.Body["tid"] != "" || f.Body["fileId"] != "" || len(f.Editions) != 1 || f.Editions[0]["tid"] != "7" {
		t.Errorf("file %+v", f)
	}
	if a.Body["body"] != "v3" || len(a.Reactions) != 0 {
		t.Errorf("message %+v", a)
	}
	var eds []string
	for _, e := range a.Editions {
		eds = append(eds, e["id"]+"="+e["body"])
	}
	if !reflect.DeepEqual(eds, []string{"e1=v2", "a=v1"}) {
		t.Errorf("editions %v", eds)
	}
	// Loaded the other way round (target first), an edit folds directly.
	msgs = Fold([]map[string]string{mk("a", TypeText, "body", "v1"), mk("e", TypeText, "edit", "a", "body", "")})
	if len(msgs) != 1 || msgs[0].Body["body"] != "" || msgs[0].Editions[0]["id"] != "a" {
		t.Errorf("direct edit %+v", msgs[0])
	}
}
