package swarm

// SwarmMessage is current upstream's folded message (libjami::SwarmMessage,
// §7.3): reactions and edits attached to the message they target.
type SwarmMessage struct {
	ID               string              `json:"id"`
	Type             string              `json:"type"`
	LinearizedParent string              `json:"linearizedParent"`
	Body             map[string]string   `json:"body"`
	Reactions        []map[string]string `json:"reactions"`
	Editions         []map[string]string `json:"editions"`
	latestEditionID  string
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type foldState struct {
	list             []*SwarmMessage
	quick            map[string]*SwarmMessage
	pendingReactions map[string][]map[string]string
	pendingEditions  map[string][]*SwarmMessage
}

// Fold builds the folded history from per-commit maps given newest first
// (Log + MessageMap2023), as current upstream's Conversation::addToHistory
// does when it loads history (no status, no plugins): merges are dropped; a
// commit with "react-to" joins the target's reactions; a commit with
// "edit" replaces the target's body (tid for files, empty = deleted, which
// also clears its reactions) and pushes the previous body, tagged with the
// id that introduced it, into editions; edits and reactions met before
// their target (they are newer) wait until it is loaded. LinearizedParent
// links the displayed messages only.
func Fold(commits []map[string]string) []*SwarmMessage {
	s := &foldState{quick: map[string]*SwarmMessage{}, pendingReactions: map[string][]map[string]string{},
		pendingEditions: map[string][]*SwarmMessage{}}
	for _, c := range commits {
		id := c["id"]
		if _, dup := s.quick[id]; dup || c["type"] == TypeMerge {
			continue
		}
		m := &SwarmMessage{ID: id, Type: c["type"], Body: copyMap(c)}
		s.quick[id] = m
		switch {
		case m.Body["react-to"] != "":
			s.reaction(m)
		case m.Body["edit"] != "":
			s.edition(m)
		default:
			s.message(m)
		}
	}
	return s.list
}

func (s *foldState) reaction(m *SwarmMessage) {
	target := m.Body["react-to"]
	if pe, ok := s.pendingEditions[m.ID]; ok {
		m.Body["body"] = pe[0].Body["body"]
		if m.Body["body"] == "" {
			return // the reaction was removed later
		}
		delete(s.pendingEditions, m.ID)
	}
	if t, ok := s.quick[target]; ok {
		t.Reactions = append(t.Reactions, copyMap(m.Body))
	} else {
		s.pendingReactions[target] = append(s.pendingReactions[target], copyMap(m.Body))
	}
}

func (s *foldState) edition(m *SwarmMessage) {
	editID := m.Body["edit"]
	base, ok := s.quick[editID]
	if !ok {
		s.pendingEditions[editID] = append(s.pendingEditions[editID], m)
		return
	}
	toReplace := "body"
	if base.Type == TypeDataTransfer {
		toReplace = "tid"
	}
	body := m.Body[toReplace]
	if reactTo, isReaction := base.Body["react-to"]; isReaction {
		base.Body[toReplace] = body
		edit := func(list []map[string]string) []map[string]string {
			for i, r := range list {
				if r["id"] == editID {
					r[toReplace] = body
					if body == "" {
						return append(list[:i:i], list[i+1:]...)
					}
					break
				}
			}
			return list
		}
		if t, ok := s.quick[reactTo]; ok {
			t.Reactions = edit(t.Reactions)
		} else if pending, ok := s.pendingReactions[reactTo]; ok {
			s.pendingReactions[reactTo] = edit(pending)
		} else {
			s.pendingEditions[editID] = append(s.pendingEditions[editID], m)
		}
		return
	}
	prev := copyMap(base.Body)
	prev["id"] = base.ID
	if base.latestEditionID != "" {
		prev["id"] = base.latestEditionID
	}
	base.Editions = append([]map[string]string{prev}, base.Editions...)
	m.Body[toReplace] = body
	base.Body[toReplace] = body
	base.latestEditionID = m.ID
	if toReplace == "tid" {
		base.Body["fileId"] = ""
	}
	if body == "" {
		base.Reactions = nil
	}
}

func (s *foldState) message(m *SwarmMessage) {
	if n := len(s.list); n > 0 {
		s.list[n-1].LinearizedParent = m.ID
	}
	s.list = append(s.list, m)
	if rs, ok := s.pendingReactions[m.ID]; ok {
		m.Reactions = append(m.Reactions, rs...)
		delete(s.pendingReactions, m.ID)
	}
	pe, ok := s.pendingEditions[m.ID]
	if !ok {
		return
	}
	old := copyMap(m.Body)
	old["id"] = m.ID
	m.latestEditionID = pe[0].ID
	if m.Type == TypeDataTransfer {
		m.Body["tid"] = pe[0].Body["tid"]
		m.Body["fileId"] = ""
	} else {
		m.Body["body"] = pe[0].Body["body"]
	}
	for _, e := range pe[1:] {
		b := copyMap(e.Body)
		b["id"] = e.ID
		m.Editions = append(m.Editions, b)
	}
	m.Editions = append(m.Editions, old)
	delete(s.pendingEditions, m.ID)
}
