package wire

import (
	"encoding/json"
	"testing"
)

func TestInfoHash(t *testing.T) {
	// opendht.md §4.1 (verified with python3-opendht).
	h := InfoHashOf([]byte("hello"))
	if h.String() != "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" {
		t.Errorf("InfoHashOf(hello) = %s", h)
	}
	p, err := ParseInfoHash("AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D")
	if err != nil || p != h {
		t.Errorf("parse upper case: %v %v", p, err)
	}
	for _, bad := range []string{"", "aaf4", h.String() + "00", "zaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"} {
		if _, err := ParseInfoHash(bad); err == nil {
			t.Errorf("ParseInfoHash(%q) accepted", bad)
		}
	}
	j, _ := json.Marshal(h)
	var back InfoHash
	if err := json.Unmarshal(j, &back); err != nil || back != h || string(j) != `"`+h.String()+`"` {
		t.Errorf("json %s → %v %v", j, back, err)
	}
	if !(InfoHash{}).IsZero() || h.IsZero() {
		t.Errorf("IsZero")
	}
}

func TestInfoHashDistance(t *testing.T) {
	var zero, one, two, top InfoHash
	one[19], two[19], top[0] = 1, 2, 0x80
	if zero.Compare(one) != -1 || top.Compare(one) != 1 || one.Compare(one) != 0 {
		t.Errorf("Compare")
	}
	if d := one.Xor(two); d[19] != 3 || !one.Xor(one).IsZero() {
		t.Errorf("Xor %v", d)
	}
	// Distances to one: one(0) < zero(1) < two(3) < top.
	if one.XorCmp(zero, two) != -1 || one.XorCmp(two, zero) != 1 || one.XorCmp(top, top) != 0 || one.XorCmp(two, top) != -1 {
		t.Errorf("XorCmp")
	}
	if zero.LowBit() != -1 || one.LowBit() != 159 || top.LowBit() != 0 || two.LowBit() != 158 {
		t.Errorf("LowBit %d %d %d %d", zero.LowBit(), one.LowBit(), top.LowBit(), two.LowBit())
	}
	if CommonBits(zero, zero) != 160 || CommonBits(zero, top) != 0 || CommonBits(one, two) != 158 || CommonBits(zero, one) != 159 {
		t.Errorf("CommonBits")
	}
	var h InfoHash
	h.SetBit(0, true)
	h.SetBit(159, true)
	if h != top.Xor(one) || !h.Bit(0) || h.Bit(1) || !h.Bit(159) {
		t.Errorf("SetBit/Bit %v", h)
	}
	h.SetBit(0, false)
	if h != one {
		t.Errorf("SetBit false %v", h)
	}
}
