package account

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/identity"
)

// Fixtures (testdata/): jamid-folder/ is the account folder the real jamid
// 13.7.0 wrote (config.yml and ring_device.crt verbatim; archive.gz is the
// archive exported with password "secret123"; ring_device.key was taken from
// that export's TLS.privateKeyFile copy). jamid-account.key is that account's
// key (from the same archive). archive-nopassword.gz is a fresh unencrypted
// archive made by jamid. All are throwaway test accounts.

const (
	jamidID       = "d9b52ffb583b1ea8bed701d03c4aef1a936c5554"
	jamidDevLong  = "687d6bb3791c81226ccee62edf93bb4a413a0e478a2f1160be59854854ba9339"
	jamidDevShort = "c05576addc332921dfd4739e74becc109ad993cc"
	jamidEth      = "b7a310efa8b74d3a54132c2d65486ad2a0d5167c"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jamidFolder(t testing.TB) *Folder {
	t.Helper()
	f, err := Open(filepath.Join("testdata", "jamid-folder"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func jamidAccountKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := identity.ParsePrivateKey(readFile(t, filepath.Join("testdata", "jamid-account.key")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A folder written by jamid opens, verifies, and carries the ids of the
// test vectors.
func TestOpenJamidFolder(t *testing.T) {
	f := jamidFolder(t)
	if f.JamiID().String() != jamidID || f.DeviceID().String() != jamidDevLong || f.DeviceShortID().String() != jamidDevShort {
		t.Errorf("ids %s %s %s", f.JamiID(), f.DeviceID(), f.DeviceShortID())
	}
	if f.DeviceName() != "vm" || f.Config["hostname"] != "127.0.0.1:4222" || f.Config["upnpEnabled"] != "false" ||
		f.Config["Account.dhtProxyListUrl"] != "Account.bootstrapListUrl" {
		t.Errorf("config %v", f.Config)
	}
	if f.TLS["certificate"] != DeviceCertFile || f.TLS["privateKey"] != DeviceKeyFile {
		t.Errorf("tls %v", f.TLS)
	}
	if len(f.ReceiptSig) != 512 || !strings.HasPrefix(f.Receipt, `{"id":"`+jamidID+`","dev":"`+jamidDevShort+`","eth":"`+jamidEth+`","announce":"`) {
		t.Errorf("receipt %q sig %d bytes", f.Receipt, len(f.ReceiptSig))
	}
	if err := f.Verify(f.Chain[0].NotBefore.Add(time.Hour)); err != nil {
		t.Errorf("jamid's own folder does not verify: %v", err)
	}
	if f.ArchivePath() != filepath.Join("testdata", "jamid-folder", ArchiveFile) {
		t.Errorf("archive path %s", f.ArchivePath())
	}
	if enc, err := f.ArchiveEncrypted(); err != nil || !enc {
		t.Errorf("ArchiveEncrypted = %v, %v", enc, err)
	}
}

// jamid's announce unpacks, verifies and packs back to the same bytes; its
// payload is AnnouncePayload of the device key; and since RSA PKCS#1 v1.5
// signatures are deterministic, MakeReceipt with the account key rebuilds
// jamid's receipt and signature byte for byte.
func TestReceiptMatchesJamid(t *testing.T) {
	f := jamidFolder(t)
	r, err := ParseReceipt(f.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != jamidID || r.Dev != jamidDevShort || r.Eth != jamidEth || len(r.Announce) != 1696 {
		t.Fatalf("receipt fields %s %s %s, announce %d bytes", r.ID, r.Dev, r.Eth, len(r.Announce))
	}
	v, err := value.Unpack(r.Announce)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Pack(), r.Announce) {
		t.Error("jamid's announce does not re-pack to the same bytes")
	}
	if !bytes.Equal(v.Data, AnnouncePayload(f.Device.Cert.RawSubjectPublicKeyInfo)) {
		t.Errorf("announce payload differs from AnnouncePayload:\n%x\n%x", v.Data, AnnouncePayload(f.Device.Cert.RawSubjectPublicKeyInfo))
	}

	key := jamidAccountKey(t)
	ann, err := Announcement(key, f.Device.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ann.Pack(), r.Announce) {
		t.Error("Announcement differs from jamid's announce")
	}
	receipt, sig, err := MakeReceipt(key, f.Device.Cert, jamidEth)
	if err != nil {
		t.Fatal(err)
	}
	if receipt != f.Receipt {
		t.Errorf("receipt differs from jamid's:\n%s\n%s", receipt, f.Receipt)
	}
	if !bytes.Equal(sig, f.ReceiptSig) {
		t.Errorf("receipt signature differs from jamid's")
	}
}

func TestVerifyReceiptFailures(t *testing.T) {
	f := jamidFolder(t)
	acc, dev := f.AccountCert(), f.Device.Cert
	key := jamidAccountKey(t)
	other := fixtureDevice(t, key, acc) // another device of the same account
	badSig := append([]byte{}, f.ReceiptSig...)
	badSig[0] ^= 1
	r, _ := ParseReceipt(f.Receipt)
	ann := base64.StdEncoding.EncodeToString(r.Announce)
	resign := func(receipt string) []byte {
		_, sig, err := signed(key, receipt)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	// An announce for the other device inside a receipt naming this one.
	otherAnn, err := Announcement(key, other.Cert)
	if err != nil {
		t.Fatal(err)
	}
	swapped := strings.Replace(f.Receipt, ann, base64.StdEncoding.EncodeToString(otherAnn.Pack()), 1)
	for _, c := range []struct {
		name    string
		receipt string
		sig     []byte
		dev     *x509.Certificate
		want    string
	}{
		{"bad signature", f.Receipt, badSig, dev, "signature"},
		{"other device", f.Receipt, f.ReceiptSig, other.Cert, "for device"},
		{"announce of another device", swapped, resign(swapped), dev, "announce is for device"},
		{"not JSON", "x", resign("x"), dev, "not JSON"},
	} {
		err := VerifyReceipt(c.receipt, c.sig, acc, c.dev)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func signed(key *rsa.PrivateKey, receipt string) (string, []byte, error) {
	h := sha512.Sum512([]byte(receipt))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA512, h[:])
	return receipt, sig, err
}

// fixtureDevice certifies the key of testdata/other-device.key (a
// pre-generated RSA-4096 key) for the account.
func fixtureDevice(t testing.TB, accountKey *rsa.PrivateKey, acc *x509.Certificate) *identity.Device {
	t.Helper()
	k, err := identity.ParsePrivateKey(readFile(t, filepath.Join("testdata", "other-device.key")))
	if err != nil {
		t.Fatal(err)
	}
	d, err := identity.NewDeviceFromKey(k, accountKey, acc, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func nopwArchive(t testing.TB) (*archive.Archive, []byte) {
	t.Helper()
	data := readFile(t, filepath.Join("testdata", "archive-nopassword.gz"))
	a, err := archive.Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, data
}

func TestCreateOpen(t *testing.T) {
	arch, _ := nopwArchive(t)
	dev := fixtureDevice(t, arch.AccountKey, arch.AccountCert())
	dir := filepath.Join(t.TempDir(), "data", "acc")
	f, err := Create(dir, arch, nil, Options{
		DeviceName: "test box",
		Device:     dev,
		Config:     map[string]string{"hostname": "127.0.0.1:4222", "upnpEnabled": "false", "alias": `a "quoted": #name`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.JamiID() != arch.JamiID() || f.DeviceID() != dev.ID() {
		t.Errorf("ids %s %s", f.JamiID(), f.DeviceID())
	}
	for name, mode := range map[string]os.FileMode{"": 0o700, DeviceKeyFile: 0o600, DeviceCertFile: 0o600, ArchiveFile: 0o600, ConfigFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v want %v", name, err, fi.Mode().Perm(), mode)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	cfg := string(readFile(t, filepath.Join(dir, ConfigFile)))
	for _, want := range []string{
		"username: " + arch.JamiID().String() + "\n",
		"Account.deviceName: test box\n",
		"Account.archiveHasPassword: false\n",
		"hostname: 127.0.0.1:4222\n",
		`alias: "a \"quoted\": #name"` + "\n",
		`ringAccountReceipt: "{\"id\":\"` + arch.JamiID().String() + `\",\"dev\":\"` + dev.ShortID().String() + `\",\"eth\":\"`,
		"ringAccountReceiptSignature: !!binary \"",
		"tls:\n  certificate: ring_device.crt\n  privateKey: ring_device.key\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config.yml lacks %q:\n%s", want, cfg)
		}
	}
	g, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g.Receipt != f.Receipt || !bytes.Equal(g.ReceiptSig, f.ReceiptSig) || g.DeviceID() != f.DeviceID() || len(g.Chain) != 3 {
		t.Error("Open does not read back what Create wrote")
	}
	if g.Config["alias"] != `a "quoted": #name` || g.DeviceName() != "test box" {
		t.Errorf("config %v", g.Config)
	}
	if err := g.Verify(time.Now()); err != nil {
		t.Error(err)
	}
	a2, err := g.Archive(nil)
	if err != nil || a2.JamiID() != arch.JamiID() {
		t.Errorf("archive: %v", err)
	}
	// The chain is device, account, CA, byte for byte the archive's.
	if !g.Chain[1].Equal(arch.AccountCert()) || !g.Chain[2].Equal(arch.CACert()) {
		t.Error("chain is not device, account, CA")
	}
	// The receipt's eth is the archive's eth address.
	r, _ := ParseReceipt(g.Receipt)
	if eth, _ := identity.EthAddress(arch.EthKey); r.Eth != eth || eth == "" {
		t.Errorf("receipt eth %q, want %q", r.Eth, eth)
	}
}

// Create into an empty folder works; a non-empty one is refused and left
// untouched unless Force, which replaces the account files only.
func TestCreateExisting(t *testing.T) {
	arch, data := nopwArchive(t)
	dev := fixtureDevice(t, arch.AccountKey, arch.AccountCert())
	dir := t.TempDir()
	opt := Options{Device: dev, ArchiveData: data}
	if _, err := Create(dir, arch, nil, opt); err != nil {
		t.Fatalf("empty folder: %v", err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, ArchiveFile)), data) {
		t.Error("ArchiveData not written verbatim")
	}
	before := readFile(t, filepath.Join(dir, ConfigFile))
	if _, err := Create(dir, arch, nil, Options{Device: dev, DeviceName: "x"}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("non-empty folder: %v", err)
	}
	if !bytes.Equal(before, readFile(t, filepath.Join(dir, ConfigFile))) {
		t.Error("refused Create changed config.yml")
	}
	os.WriteFile(filepath.Join(dir, "contacts"), []byte{0x80}, 0o644)
	opt.Force, opt.DeviceName = true, "forced"
	if _, err := Create(dir, arch, nil, opt); err != nil {
		t.Fatal(err)
	}
	if g, err := Open(dir); err != nil || g.DeviceName() != "forced" {
		t.Errorf("forced: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "contacts")); err != nil {
		t.Error("Force removed another file")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Create(file, arch, nil, Options{Device: dev, Force: true}); err == nil {
		t.Error("wrote over a file")
	}
}

func TestCreateRejects(t *testing.T) {
	arch, _ := nopwArchive(t)
	jf := jamidFolder(t)
	dev := fixtureDevice(t, arch.AccountKey, arch.AccountCert())
	noKey := *arch
	noKey.AccountKey = nil
	wrongKey := *arch
	wrongKey.AccountKey = jamidAccountKey(t)
	for _, c := range []struct {
		name string
		arch *archive.Archive
		opt  Options
		want string
	}{
		{"no account key", &noKey, Options{Device: dev}, "no account key"},
		{"key mismatch", &wrongKey, Options{Device: dev}, "does not match"},
		{"foreign device", arch, Options{Device: jf.Device}, "device certificate"},
		{"bad key name", arch, Options{Device: dev, Config: map[string]string{"a b": "x"}}, "config key"},
		{"reserved key", arch, Options{Device: dev, Config: map[string]string{"tls": "x"}}, "written by jamikit"},
		{"bad UTF-8", arch, Options{Device: dev, Config: map[string]string{"alias": "\xff"}}, "UTF-8"},
	} {
		dir := filepath.Join(t.TempDir(), "acc")
		_, err := Create(dir, c.arch, nil, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: folder written", c.name)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	src := filepath.Join("testdata", "jamid-folder")
	copyDir := func(t *testing.T) string {
		dir := t.TempDir()
		for _, n := range []string{ConfigFile, DeviceCertFile, DeviceKeyFile} {
			os.WriteFile(filepath.Join(dir, n), readFile(t, filepath.Join(src, n)), 0o600)
		}
		return dir
	}
	for _, c := range []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"no config", func(d string) { os.Remove(filepath.Join(d, ConfigFile)) }, "not a Jami account folder"},
		{"bad yaml", func(d string) { os.WriteFile(filepath.Join(d, ConfigFile), []byte("a: [\n"), 0o600) }, "not YAML"},
		{"yaml list", func(d string) { os.WriteFile(filepath.Join(d, ConfigFile), []byte("- a\n"), 0o600) }, "not a YAML map"},
		{"key mismatch", func(d string) {
			os.WriteFile(filepath.Join(d, DeviceKeyFile), readFile(t, filepath.Join("testdata", "other-device.key")), 0o600)
		}, "does not match"},
		{"no key", func(d string) { os.Remove(filepath.Join(d, DeviceKeyFile)) }, "no such file"},
		{"single cert", func(d string) {
			chain, _ := identity.ParseCertificates(readFile(t, filepath.Join(src, DeviceCertFile)))
			os.WriteFile(filepath.Join(d, DeviceCertFile), identity.EncodeCertsPEM(chain[0]), 0o600)
		}, "no account certificate"},
		{"garbage cert", func(d string) { os.WriteFile(filepath.Join(d, DeviceCertFile), []byte("x"), 0o600) }, "not a certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t)
			c.setup(dir)
			_, err := Open(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v, want %q", err, c.want)
			}
		})
	}
	// A folder that opens but whose receipt is for another device fails Verify.
	dir := copyDir(t)
	os.WriteFile(filepath.Join(dir, ConfigFile), bytes.Replace(readFile(t, filepath.Join(src, ConfigFile)), []byte("SkLm"), []byte("SkLn"), 1), 0o600)
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(f.Chain[0].NotBefore.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("tampered receipt signature: %v", err)
	}
}

// With a password: the archive is written verbatim (no second Argon2), the
// folder does not claim an unencrypted archive, and decrypts with it.
func TestCreateEncrypted(t *testing.T) {
	if testing.Short() {
		t.Skip("two Argon2 derivations")
	}
	data := readFile(t, filepath.Join("testdata", "jamid-folder", ArchiveFile))
	pw := "secret123"
	arch, err := archive.Decode(data, &pw)
	if err != nil {
		t.Fatal(err)
	}
	dev := fixtureDevice(t, arch.AccountKey, arch.AccountCert())
	dir := filepath.Join(t.TempDir(), "acc")
	if _, err := Create(dir, arch, &pw, Options{Device: dev, ArchiveData: data}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Config["Account.archiveHasPassword"]; ok {
		t.Error("archiveHasPassword written for an encrypted archive")
	}
	if a, err := f.Archive(&pw); err != nil || a.JamiID().String() != jamidID {
		t.Errorf("archive: %v", err)
	}
	if _, err := f.Archive(nil); !errors.Is(err, archive.ErrPasswordRequired) {
		t.Errorf("no password: %v", err)
	}
}
