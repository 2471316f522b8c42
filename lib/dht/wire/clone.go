package wire

// Clone returns a deep copy of m that shares nothing with the datagram m
// was decoded from: all its bytes live in one new allocation.
func (m *Message) Clone() *Message {
	n := len(m.UA) + len(m.Query) + len(m.Token) + len(m.Nodes4) + len(m.Nodes6) + len(m.ErrText) + len(m.Fields)
	for _, v := range m.Values {
		n += len(v)
	}
	for _, p := range m.Parts {
		n += len(p.Data)
	}
	arena := make([]byte, 0, n)
	cp := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		s := len(arena)
		arena = append(arena, b...)
		return arena[s:len(arena):len(arena)]
	}
	c := &Message{
		Kind: m.Kind, TID: m.TID, Net: m.Net, Client: m.Client,
		ID: m.ID, Hash: m.Hash, Target: m.Target, Want: m.Want, VID: m.VID, Addr: m.Addr,
		Created: m.Created, HasCreated: m.HasCreated, SID: m.SID, Version: m.Version, InlineValues: m.InlineValues,
		ErrCode: m.ErrCode,
	}
	c.UA = cp(m.UA)
	c.Query = cp(m.Query)
	c.Token = cp(m.Token)
	c.Nodes4 = cp(m.Nodes4)
	c.Nodes6 = cp(m.Nodes6)
	c.ErrText = cp(m.ErrText)
	if len(m.Values) > 0 {
		c.Values = make([][]byte, len(m.Values))
		for i, v := range m.Values {
			c.Values[i] = cp(v)
		}
	}
	if len(m.Parts) > 0 {
		c.Parts = make([]Part, len(m.Parts))
		for i, p := range m.Parts {
			c.Parts[i] = Part{Index: p.Index, Offset: p.Offset, Data: cp(p.Data)}
		}
	}
	c.Sizes = append([]ValueSize(nil), m.Sizes...)
	c.Refreshed = append([]uint64(nil), m.Refreshed...)
	c.Expired = append([]uint64(nil), m.Expired...)
	c.Fields = cp(m.Fields)
	return c
}
