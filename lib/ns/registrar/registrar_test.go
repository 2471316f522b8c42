package registrar

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The committed ABI has the selectors and event topics of the contract the
// Jami name service deploys (spec/nameservice.md §3.3, §3.4): only then can
// the server drive the real contract.
func TestInterface(t *testing.T) {
	selectors := map[string]string{
		"reserve(bytes32,address)":                          "5b873cdb",
		"reserveFor(bytes32,address,address,string,string)": "e7d3c696",
		"transfer(bytes32,address)":                         "79ce9fac",
		"disown(bytes32)":                                   "d93e7573",
		"setAddress(bytes32,address,bool)":                  "be99a980",
		"setSubRegistrar(bytes32,address)":                  "89a69c0e",
		"setContent(bytes32,bytes32)":                       "c3d014d6",
		"owner(bytes32)":                                    "02571be3",
		"addr(bytes32)":                                     "3b3b57de",
		"subRegistrar(bytes32)":                             "5a3a05bd",
		"content(bytes32)":                                  "2dff6941",
		"name(address)":                                     "01984892",
		"publickey(bytes32)":                                "1d747f14",
		"signature(bytes32)":                                "5762e6d0",
	}
	abi := NewGlobalRegistrar().GetABI()
	if len(abi.Methods) != len(selectors) {
		t.Errorf("%d methods, want %d", len(abi.Methods), len(selectors))
	}
	for _, m := range abi.Methods {
		want, ok := selectors[m.Sig]
		if !ok {
			t.Errorf("unexpected method %s", m.Sig)
			continue
		}
		if got := hex.EncodeToString(m.ID); got != want {
			t.Errorf("%s: selector %s, want %s", m.Sig, got, want)
		}
		// The spec's table, checked independently of the ABI package.
		if got := hex.EncodeToString(crypto.Keccak256([]byte(m.Sig))[:4]); got != want {
			t.Errorf("%s: keccak %s, want %s", m.Sig, got, want)
		}
	}
	events := map[string]string{
		"Changed(bytes32)":                        "0xa6697e974e6a320f454390be03f74955e8978f1a6971ea6730542e37b66179bc",
		"PrimaryChanged(bytes32,address,address)": "0x63ccb174f7bb7cb812a8099faa566bdb1770c6020a4c203a20e37bb9db10b8d2",
	}
	for _, e := range abi.Events {
		if want := events[e.Sig]; e.ID != common.HexToHash(want) {
			t.Errorf("event %s: topic %s, want %s", e.Sig, e.ID, want)
		}
	}
	pc := abi.Events["PrimaryChanged"]
	if !pc.Inputs[0].Indexed || !pc.Inputs[1].Indexed || pc.Inputs[2].Indexed {
		t.Error("PrimaryChanged: want name and addr indexed, owner in data")
	}
	if m := abi.Methods["name"]; m.Outputs[0].Name != "o_name" {
		t.Errorf("name() output %q, want o_name", m.Outputs[0].Name)
	}
}

// The binding carries the committed bytecode, and that bytecode runs on the
// Jami chain: no PUSH0 (Shanghai), since it is compiled for Constantinople.
func TestBytecode(t *testing.T) {
	bin, err := os.ReadFile("registrar.bin")
	if err != nil {
		t.Fatal(err)
	}
	if "0x"+strings.TrimSpace(string(bin)) != GlobalRegistrarMetaData.Bin {
		t.Fatal("registrar.go is stale: run make contract")
	}
	// A linear sweep skipping PUSH data; the data after the code (the CBOR
	// metadata, a constant) happens to decode without 0x5f as well.
	code := common.FromHex(GlobalRegistrarMetaData.Bin)
	for i := 0; i < len(code); i++ {
		op := code[i]
		if op == 0x5f {
			t.Fatalf("PUSH0 at %d: the bytecode needs Shanghai", i)
		}
		if op >= 0x60 && op <= 0x7f {
			i += int(op - 0x5f)
		}
	}
}
