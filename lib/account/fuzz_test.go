package account

import (
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzConfig: config.yml parsing never panics, and every UTF-8 value written
// by marshalConfig reads back unchanged (plain or quoted).
func FuzzConfig(f *testing.F) {
	f.Add(readFile(f, filepath.Join("testdata", "jamid-folder", ConfigFile)), "127.0.0.1:4222")
	f.Add([]byte("a: b\ntls:\n  certificate: x\n"), `a "b": #c`)
	f.Add([]byte("ringAccountReceiptSignature: !!binary \"@@\"\n"), "- x")
	f.Add([]byte("- a\n"), "\u2028\x00\t ~")
	f.Add([]byte("{a: [1, {b: c}]}"), "null")
	f.Fuzz(func(t *testing.T, data []byte, v string) {
		_, _ = unmarshalConfig(data)
		if !utf8.ValidString(v) {
			return
		}
		doc := &configDoc{
			Values:  map[string]string{"k": v},
			Order:   []string{"k"},
			TLS:     map[string]string{"certificate": v, "privateKey": DeviceKeyFile},
			Receipt: v, ReceiptSig: []byte(v),
		}
		got, err := unmarshalConfig(marshalConfig(doc))
		if err != nil {
			t.Fatalf("%q: %v\n%s", v, err, marshalConfig(doc))
		}
		if got.Values["k"] != v || got.TLS["certificate"] != v || got.Receipt != v || string(got.ReceiptSig) != v {
			t.Fatalf("%q read back as %q / %q / %q\n%s", v, got.Values["k"], got.TLS["certificate"], got.Receipt, marshalConfig(doc))
		}
	})
}

// FuzzReceipt: receipt checks never panic on arbitrary receipts.
func FuzzReceipt(f *testing.F) {
	jf := jamidFolder(f)
	f.Add(jf.Receipt, jf.ReceiptSig)
	f.Add(`{"id":"","announce":"gqJpZACjZGF0gA=="}`, []byte{1})
	f.Fuzz(func(t *testing.T, receipt string, sig []byte) {
		_, _ = ParseReceipt(receipt)
		_ = VerifyReceipt(receipt, sig, jf.AccountCert(), jf.Device.Cert)
	})
}

// FuzzImportedConfig: any archive setting (key, value) maps without panic to
// a known config.yml key with a UTF-8 value that config.yml writes and reads
// back unchanged; a number is a number.
func FuzzImportedConfig(f *testing.F) {
	f.Add("Account.alias", "alice", "")
	f.Add("Account.activeCallLimit", "-2147483649", "")
	f.Add("DHT.port", "65535x", "")
	f.Add("Account.audioPortMin", "-65535", "70000")
	f.Add("Account.defaultModerators", "//a/\xff/a", "")
	f.Add("Account.hostname", "", "")
	f.Fuzz(func(t *testing.T, k, v, v2 string) {
		in := map[string]string{k: v, "Account.audioPortMax": v2, "Account.videoPortMin": v, "Account.videoPortMax": v2}
		known := map[string]bool{}
		for _, s := range importedSettings {
			known[s.yaml] = true
		}
		for _, r := range importedRanges {
			known[r.yamlMin], known[r.yamlMax] = true, true
		}
		for yk, yv := range ImportedConfig(in) {
			if !known[yk] || !utf8.ValidString(yv) {
				t.Fatalf("%q=%q: %q=%q", k, v, yk, yv)
			}
			doc := &configDoc{Values: map[string]string{yk: yv}, Order: []string{yk}, TLS: map[string]string{}}
			got, err := unmarshalConfig(marshalConfig(doc))
			if err != nil || got.Values[yk] != yv {
				t.Fatalf("%q=%q reads back as %q (%v)", yk, yv, got.Values[yk], err)
			}
		}
	})
}
