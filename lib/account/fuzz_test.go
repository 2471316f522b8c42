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
