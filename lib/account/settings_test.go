package account

import (
	"bytes"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/lib/archive"
)

// jamid's own export (testdata/jamid-folder/archive.gz, the same file as
// tests/testdata/fixtures/account-jami20230206/archive-password-secret123.gz)
// carries the settings of the account whose config.yml jamid wrote next to
// it. Imported, they give back that config.yml's settings: the same keys
// and values, apart from what is the device's own (its name), what jamikit
// writes itself (username) and what the archive does not carry.
func TestImportedConfigJamidExport(t *testing.T) {
	key, err := archive.ParseKey(jamidArchiveKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := archive.DecodeWithKey(readFile(t, filepath.Join("testdata", "jamid-folder", ArchiveFile)), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Config) < 40 {
		t.Fatalf("the export has %d settings", len(a.Config))
	}
	got := ImportedConfig(a.Config)
	want := map[string]string{
		"alias":       "alice",
		"hostname":    "127.0.0.1:4222",
		"displayName": "Alice",
		"upnpEnabled": "false",
		"turnEnabled": "false",
		"RingNS.uri":  "http://127.0.0.1:1",
	}
	if !maps.Equal(got, want) {
		t.Errorf("imported %v\nwant %v", got, want)
	}
	jamid := jamidFolder(t).Config
	for k, v := range jamid {
		switch k {
		case "username", "activeCodecs", keyDeviceName,
			"Account.dhtProxyListUrl": // not exported (account.md §2.2.3)
			continue
		}
		if got[k] != v {
			t.Errorf("config.yml by jamid: %s: %q; imported: %q", k, v, got[k])
		}
	}
	for k := range got {
		if _, ok := jamid[k]; !ok {
			t.Errorf("imported %s, which jamid's config.yml does not have", k)
		}
	}
}

func TestImportedConfigRules(t *testing.T) {
	cases := []struct {
		in   map[string]string
		want map[string]string
	}{
		// Defaults are not written; booleans are "true" or false.
		{map[string]string{"Account.enable": "true", "TURN.server": "turn.jami.net", "Account.dtmfType": "overrtp", "Account.hostname": ""}, map[string]string{}},
		{map[string]string{"Account.enable": "TRUE", "Account.rendezVous": "true", "Account.peerDiscovery": "1"}, map[string]string{"enable": "false", "rendezVous": "true"}},
		// Numbers as from_chars reads them; what jamid would throw on is left out.
		{map[string]string{"Account.activeCallLimit": "3 calls", "DHT.port": "4222"}, map[string]string{"activeCallLimit": "3", "dhtPort": "4222"}},
		{map[string]string{"Account.activeCallLimit": "many", "DHT.port": "-1"}, map[string]string{}},
		{map[string]string{"DHT.port": "70000"}, map[string]string{}},
		// Port ranges: as a valid pair only.
		{map[string]string{"Account.audioPortMin": "1000", "Account.audioPortMax": "2000"}, map[string]string{"audioPortMin": "1000", "audioPortMax": "2000"}},
		{map[string]string{"Account.audioPortMin": "16384", "Account.audioPortMax": "32766", "Account.videoPortMin": "2000"}, map[string]string{}},
		{map[string]string{"Account.videoPortMin": "2000", "Account.videoPortMax": "1000"}, map[string]string{}},
		// jamid's other rewrites.
		{map[string]string{"Account.managerUri": "jams.example", "Account.defaultModerators": "b//a/b"}, map[string]string{"Account.managerUri": "https://jams.example", "defaultModerators": "a/b"}},
		{map[string]string{"Account.managerUri": "http://jams.example", "Account.allModeratorEnabled": "false"}, map[string]string{"Account.managerUri": "http://jams.example", "allModeratorsEnabled": "false"}},
		// Not carried into config.yml.
		{map[string]string{"Account.archiveHasPassword": "false", "TLS.password": "x", "Account.username": "x", "Account.type": "SIP", "Account.autoAnswer": "true", "Custom.key": "1", "Account.alias": "\xff"}, map[string]string{}},
		{map[string]string{"Account.deviceName": "old laptop"}, map[string]string{keyDeviceName: "old laptop"}},
	}
	for _, tc := range cases {
		if got := ImportedConfig(tc.in); !maps.Equal(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

// Settings left out are logged at debug level, one line each.
func TestImportedConfigLogsSkipped(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)
	ImportedConfig(map[string]string{"Account.type": "RING", "TLS.privateKeyFile": "…", "Account.alias": "a"})
	out := buf.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "key=Account.type") || !strings.Contains(out, "key=TLS.privateKeyFile") || strings.Contains(out, "Account.alias") {
		t.Fatalf("log:\n%s", out)
	}
}

// A folder written from an archive carries its settings, under the device's
// name and the caller's explicit entries; Account.archiveHasPassword follows
// the archive written, not the archive's setting.
func TestCreateArchiveSettings(t *testing.T) {
	a, data := nopwArchive(t)
	a.Config = map[string]string{
		"Account.alias":              "bob",
		"Account.hostname":           "bootstrap.example:4222",
		"Account.deviceName":         "exporting device",
		"Account.archiveHasPassword": "true",
		"TURN.enable":                "false",
		"Account.type":               "RING",
	}
	dev := fixtureDevice(t, a.AccountKey, a.AccountCert())
	dir := filepath.Join(t.TempDir(), "acc")
	f, err := Create(dir, a, nil, Options{Device: dev, ArchiveData: data, ArchiveSettings: true,
		Config: map[string]string{"hostname": "127.0.0.1:4222"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []map[string]string{f.Config, g.Config} {
		want := map[string]string{
			"username":    a.JamiID().String(),
			"alias":       "bob",
			"hostname":    "127.0.0.1:4222",
			keyDeviceName: "exporting device",
			keyArchivePW:  "false",
			"turnEnabled": "false",
		}
		if !maps.Equal(c, want) {
			t.Errorf("config %v\nwant %v", c, want)
		}
	}

	dir = filepath.Join(t.TempDir(), "acc")
	f, err = Create(dir, a, nil, Options{Device: dev, ArchiveData: data, ArchiveSettings: true, DeviceName: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if f.DeviceName() != "laptop" || f.Config["hostname"] != "bootstrap.example:4222" {
		t.Errorf("config %v", f.Config)
	}
	// Without ArchiveSettings, none of them.
	dir = filepath.Join(t.TempDir(), "acc")
	if f, err = Create(dir, a, nil, Options{Device: dev, ArchiveData: data}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Config["alias"]; ok || len(f.Config) != 2 {
		t.Errorf("config %v", f.Config)
	}
}
