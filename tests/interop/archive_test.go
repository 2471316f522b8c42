package interop

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jamikit/jamikit/tests/interop/sandbox"
	"gopkg.in/yaml.v3"
)

// receiptEth reads the "eth" field of the device receipt jamid wrote into the
// account's config.yml.
func receiptEth(t *testing.T, accountDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(accountDir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Receipt string `yaml:"ringAccountReceipt"`
	}
	if err := yaml.Unmarshal(b, &conf); err != nil {
		t.Fatalf("jamid's config.yml: %v", err)
	}
	var r struct {
		Eth string `json:"eth"`
	}
	if err := json.Unmarshal([]byte(conf.Receipt), &r); err != nil || r.Eth == "" {
		t.Fatalf("jamid's receipt %q: %v", conf.Receipt, err)
	}
	return r.Eth
}

// An account created by the real jamid, exported with and without a password:
// jami-archive reads both and prints jamid's Jami ID.
func TestJamidExportReadByArchive(t *testing.T) {
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	const pw = "export-secret"
	j, acc := net.JamidWithAccount(ctx, t, "alice", sandbox.JamidOptions{}, sandbox.AccountOptions{Password: sandbox.Ptr(pw)})
	dir := t.TempDir()

	withPw := filepath.Join(dir, "with-password.gz")
	if err := j.ExportToFile(ctx, acc.ID, withPw, pw); err != nil {
		t.Fatal(err)
	}
	info := show(ctx, t, withPw, sandbox.Ptr(pw))
	if info.JamiID != acc.JamiID {
		t.Errorf("show %s: jami_id %q, jamid says %q", withPw, info.JamiID, acc.JamiID)
	}
	if !*info.Encrypted {
		t.Errorf("show %s: encrypted=false for a password-protected jamid export", withPw)
	}
	// A 2023 export carries the exporting device's certificate (TLS.certificateFile).
	vol, err := j.VolatileDetails(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if dev := vol["Account.deviceID"]; !slices.ContainsFunc(info.Devices, func(d deviceInfo) bool { return d.DeviceID == dev }) {
		t.Errorf("show %s: devices %+v lack jamid's device %s", withPw, info.Devices, dev)
	}
	// jamid's receipt names the account's Ethereum address.
	if eth := receiptEth(t, j.AccountDir(acc.ID)); info.EthAddress != eth {
		t.Errorf("show %s: eth_address %q, jamid's receipt says %q", withPw, info.EthAddress, eth)
	}

	// Remove the password: jamid then writes plain gzip.
	if err := j.ChangePassword(ctx, acc.ID, pw, ""); err != nil {
		t.Fatal(err)
	}
	noPw := filepath.Join(dir, "no-password.gz")
	if err := j.ExportToFile(ctx, acc.ID, noPw, ""); err != nil {
		t.Fatal(err)
	}
	if !isGzip(t, noPw) {
		t.Fatalf("jamid's export without password is not gzip")
	}
	info = show(ctx, t, noPw, nil)
	if info.JamiID != acc.JamiID {
		t.Errorf("show %s: jami_id %q, jamid says %q", noPw, info.JamiID, acc.JamiID)
	}
	if *info.Encrypted {
		t.Errorf("show %s: encrypted=true for an unencrypted jamid export", noPw)
	}
}

// Archives made by jami-keygen (with and without password) are imported by jamid,
// which reports our Jami ID and registers on the sandbox DHT.
func TestKeygenArchiveImportedByJamid(t *testing.T) {
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	j := net.Jamid(t, "bob")
	keygen := newTool(t, "jami-keygen")

	for _, tc := range []struct {
		name string
		pw   *string
	}{
		{"password", sandbox.Ptr("keygen-secret")},
		{"no-password", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "account.gz")
			args := []string{"new", "--archive", file, "--json"}
			if tc.pw != nil {
				args = append(args, "--password-file", passwordFile(t, *tc.pw))
			} else {
				args = append(args, "--no-password")
			}
			var kg keygenInfo
			keygen.runJSON(ctx, nil, &kg, args...)
			if len(kg.JamiID) != 40 {
				t.Fatalf("jami-keygen new --json: jami_id %q", kg.JamiID)
			}
			if got := isGzip(t, file); got != (tc.pw == nil) {
				t.Errorf("archive is gzip=%v, want %v (encrypted iff a password was given)", got, tc.pw == nil)
			}
			acc, err := j.AddAccount(ctx, sandbox.AccountOptions{ArchivePath: file, Password: tc.pw})
			if err != nil {
				t.Fatalf("jamid import of the jami-keygen archive: %v", err)
			}
			if acc.JamiID != kg.JamiID {
				t.Errorf("jamid imported Jami ID %s, jami-keygen said %s", acc.JamiID, kg.JamiID)
			}
			if acc.State != "REGISTERED" {
				t.Errorf("imported account state %s", acc.State)
			}
		})
	}
}

// A folder written by `jami-keygen new -o DIR` into jamid's data dir before jamid
// starts is loaded as is: same device (no regeneration), same Jami ID, our network
// settings, REGISTERED on the namespace's dhtnode; the folder's archive exports
// with our password.
func TestKeygenFolderLoadedByJamid(t *testing.T) {
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	j := net.NewJamid(t, "carol", sandbox.JamidOptions{})

	// jamid names folders with a random 64-bit hex id; any name works.
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := strings.TrimLeft(hex.EncodeToString(b), "0")
	dir := j.AccountDir(id)
	const pw, devName = "folder-secret", "interop-device"
	var kg keygenInfo
	newTool(t, "jami-keygen").runJSON(ctx, nil, &kg, "new", "-o", dir, "--json",
		"--password-file", passwordFile(t, pw), "--name", devName,
		"--config", "hostname="+net.Bootstrap(),
		"--config", "upnpEnabled=false",
		"--config", "turnEnabled=false",
		"--config", "Account.dhtProxyListUrl=",
		"--config", "RingNS.uri=http://127.0.0.1:9",
	)
	if len(kg.JamiID) != 40 || len(kg.DeviceID) != 64 {
		t.Fatalf("jami-keygen new --json: %+v", kg)
	}
	if filepath.Clean(kg.AccountDir) != dir {
		t.Errorf("account_dir %q, want %q", kg.AccountDir, dir)
	}
	crt, err := os.ReadFile(filepath.Join(dir, "ring_device.crt"))
	if err != nil {
		t.Fatal(err)
	}

	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := j.AccountList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0] != id {
		t.Fatalf("jamid accounts %v, want [%s] (the folder was not loaded)", list, id)
	}
	acc, err := j.WaitAccount(ctx, id, sandbox.WaitRegistered)
	if err != nil {
		t.Fatal(err)
	}
	if acc.JamiID != kg.JamiID {
		t.Errorf("jamid Account.username %s, jami-keygen jami_id %s", acc.JamiID, kg.JamiID)
	}
	vol, err := j.VolatileDetails(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if vol["Account.deviceID"] != kg.DeviceID {
		t.Errorf("jamid Account.deviceID %s, jami-keygen device_id %s (device regenerated?)", vol["Account.deviceID"], kg.DeviceID)
	}
	det, err := j.Details(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := sandbox.DiffDetails(det, j.NetworkDetails()); len(d) != 0 {
		t.Errorf("settings from --config not as jamid reads them; jamid has:\n%s", sandbox.FormatDetails(d))
	}
	if det["Account.deviceName"] != devName {
		t.Errorf("Account.deviceName %q, want %q", det["Account.deviceName"], devName)
	}
	after, err := os.ReadFile(filepath.Join(dir, "ring_device.crt"))
	if err != nil || string(after) != string(crt) {
		t.Errorf("jamid rewrote ring_device.crt (%v)", err)
	}

	// The folder's archive.gz is usable by jamid with our password.
	out := filepath.Join(t.TempDir(), "export.gz")
	if err := j.ExportToFile(ctx, id, out, pw); err != nil {
		t.Fatalf("exporting the jami-keygen account with its password: %v", err)
	}
	if info := show(ctx, t, out, sandbox.Ptr(pw)); info.JamiID != kg.JamiID {
		t.Errorf("export of the loaded folder has jami_id %s, want %s", info.JamiID, kg.JamiID)
	}
}

// `jami-archive backup` of a jamid-created account folder restores into jamid
// with the same Jami ID.
func TestBackupOfJamidAccountRestores(t *testing.T) {
	ctx := testContext(t)
	net := sandbox.Start(t, sandbox.Options{})
	const pw = "backup-secret"
	j, acc := net.JamidWithAccount(ctx, t, "dave", sandbox.JamidOptions{}, sandbox.AccountOptions{Password: sandbox.Ptr(pw)})

	to := t.TempDir()
	out := newTool(t, "jami-archive").run(ctx, nil,
		"backup", "--account", j.AccountDir(acc.ID), "--to", to, "--password-file", passwordFile(t, pw))
	backup := strings.TrimSpace(out)
	if backup == "" || strings.Contains(backup, "\n") {
		t.Fatalf("jami-archive backup printed %q, want the path written", out)
	}
	if !filepath.IsAbs(backup) {
		backup = filepath.Join(to, backup)
	}
	if filepath.Dir(backup) != filepath.Clean(to) {
		t.Errorf("backup written to %s, not into --to %s", backup, to)
	}
	if isGzip(t, backup) {
		t.Errorf("backup %s is plain gzip; it must be encrypted with the account's password", backup)
	}
	if info := show(ctx, t, backup, sandbox.Ptr(pw)); info.JamiID != acc.JamiID || !*info.Encrypted {
		t.Errorf("show backup: jami_id %s encrypted %v, want %s true", info.JamiID, *info.Encrypted, acc.JamiID)
	}

	// Restore into jamid once the original account is gone.
	if err := j.RemoveAccount(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	restored, err := j.AddAccount(ctx, sandbox.AccountOptions{ArchivePath: backup, Password: sandbox.Ptr(pw)})
	if err != nil {
		t.Fatalf("jamid import of the backup: %v", err)
	}
	if restored.JamiID != acc.JamiID || restored.State != "REGISTERED" {
		t.Errorf("restored %s %s, want %s REGISTERED", restored.JamiID, restored.State, acc.JamiID)
	}
}
