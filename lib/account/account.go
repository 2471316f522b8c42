// Package account is a Jami account on disk: the folder jamid keeps under
// its data directory (account.md §3) with the device key and certificate
// chain, the receipt in config.yml and the archive. Create writes a folder
// that jamid 13.7.0 loads as-is (§3.4); Open reads one, including folders
// written by jamid itself.
package account

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jamikit/jamikit/lib/archive"
	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/identity"
)

// File names in the account folder (jamid's defaults).
const (
	ConfigFile     = "config.yml"
	DeviceKeyFile  = "ring_device.key"
	DeviceCertFile = "ring_device.crt"
	ArchiveFile    = "archive.gz"
)

// ErrNotEmpty is returned by Create for an existing folder with files in it.
var ErrNotEmpty = errors.New("folder exists and is not empty (use --force to write into it)")

// ErrNotAccount is returned by Open for a folder without config.yml.
var ErrNotAccount = errors.New("not a Jami account folder (no " + ConfigFile + ")")

// Options say how Create writes the folder.
type Options struct {
	// DeviceName goes to config.yml as Account.deviceName ("" leaves it out;
	// jamid then uses the host name).
	DeviceName string
	// Config holds extra config.yml entries under their YAML names, e.g.
	// "hostname": "127.0.0.1:4222", "upnpEnabled": "false".
	Config map[string]string
	// Force allows writing into a folder that already has files: the four
	// account files are replaced, other files are left alone.
	Force bool
	// Device is the device to install; nil generates a new one. It must be
	// certified by the archive's account.
	Device *identity.Device
	// ArchiveSettings applies the archive's own account settings
	// (arch.Config, D-Bus names) to config.yml, as jamid's import does
	// (ImportedConfig). DeviceName and Config override them.
	ArchiveSettings bool
	// ArchiveData, if set, is written verbatim as archive.gz instead of
	// encoding the archive again (it must be that archive, e.g. the file it
	// was read from): this saves an Argon2 derivation and keeps the password.
	ArchiveData []byte
}

// Folder is an account folder.
type Folder struct {
	Dir        string
	Device     *identity.Device
	Chain      []*x509.Certificate // ring_device.crt: device, account, CA
	Receipt    string              // ringAccountReceipt (JSON)
	ReceiptSig []byte              // ringAccountReceiptSignature
	Config     map[string]string   // other top-level config.yml scalars
	TLS        map[string]string   // the tls: map (certificate, privateKey, ...)
}

// AccountCert is the account certificate (second in ring_device.crt).
func (f *Folder) AccountCert() *x509.Certificate { return f.Chain[1] }

// JamiID is the short id of the account key.
func (f *Folder) JamiID() identity.ShortID { return identity.CertShortID(f.AccountCert()) }

// DeviceID is the long id of the device key (jamid's Account.deviceID).
func (f *Folder) DeviceID() identity.LongID { return f.Device.ID() }

// DeviceShortID is the short id of the device key (the receipt's "dev").
func (f *Folder) DeviceShortID() identity.ShortID { return f.Device.ShortID() }

// DeviceName is Account.deviceName, "" when not set.
func (f *Folder) DeviceName() string { return f.Config[keyDeviceName] }

// ArchivePath is the archive file of the account (Account.archivePath,
// relative to the folder; archive.gz by default).
func (f *Folder) ArchivePath() string {
	return f.path(f.Config[keyArchive], ArchiveFile)
}

// Archive reads and decrypts the account archive (pw == nil: unencrypted).
func (f *Folder) Archive(pw *string) (*archive.Archive, error) {
	return archive.ReadFile(f.ArchivePath(), pw)
}

// ArchiveEncrypted reports whether the archive file is password-protected.
func (f *Folder) ArchiveEncrypted() (bool, error) {
	data, err := archive.ReadBytes(f.ArchivePath())
	if err != nil {
		return false, err
	}
	return archive.IsEncrypted(data), nil
}

// Verify checks the folder the way jamid does when it loads the account
// (useIdentity, account.md §5.4): the device chain verifies with the account
// certificate as anchor (and crls applied), and the receipt is valid for
// this account and device.
func (f *Folder) Verify(now time.Time, crls ...*x509.RevocationList) error {
	if err := identity.VerifyDeviceChainAt(f.Chain, now, crls...); err != nil {
		return fmt.Errorf("%s: %w", f.path(f.TLS["certificate"], DeviceCertFile), err)
	}
	if f.Receipt == "" || len(f.ReceiptSig) == 0 {
		return fmt.Errorf("%s: no device receipt", filepath.Join(f.Dir, ConfigFile))
	}
	if err := VerifyReceipt(f.Receipt, f.ReceiptSig, f.AccountCert(), f.Device.Cert); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(f.Dir, ConfigFile), err)
	}
	return nil
}

func (f *Folder) path(name, def string) string {
	if name == "" {
		name = def
	}
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(f.Dir, name)
}

// Open reads an account folder: config.yml, the device key and certificate
// chain it names. It checks that the key matches the certificate and that the
// chain has the account certificate; Verify checks the rest. The archive is
// not read.
func Open(dir string) (*Folder, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a folder", dir)
	}
	cfgPath := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(cfgPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotAccount)
	}
	if err != nil {
		return nil, err
	}
	doc, err := unmarshalConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	f := &Folder{Dir: dir, Config: doc.Values, TLS: doc.TLS, Receipt: doc.Receipt, ReceiptSig: doc.ReceiptSig}
	crtPath := f.path(doc.TLS["certificate"], DeviceCertFile)
	keyPath := f.path(doc.TLS["privateKey"], DeviceKeyFile)
	crtData, err := os.ReadFile(crtPath)
	if err != nil {
		return nil, err
	}
	f.Chain, err = identity.ParseCertificates(crtData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", crtPath, err)
	}
	if len(f.Chain) < 2 {
		return nil, fmt.Errorf("%s: no account certificate after the device certificate", crtPath)
	}
	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	key, err := identity.ParsePrivateKey(keyData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !identity.KeyMatches(key, f.Chain[0]) {
		return nil, fmt.Errorf("%s: key does not match the certificate in %s", keyPath, crtPath)
	}
	f.Device = &identity.Device{Key: key, Cert: f.Chain[0]}
	return f, nil
}

// Create writes a complete account folder for the account of arch: a device
// (opt.Device, or a new one), its receipt in config.yml, ring_device.key and
// ring_device.crt (0600), and archive.gz encrypted with pw (nil: gzip). The
// folder is created 0700 and must be absent or empty unless opt.Force; it
// appears complete or not at all.
func Create(dir string, arch *archive.Archive, pw *string, opt Options) (*Folder, error) {
	if arch == nil || arch.AccountKey == nil || len(arch.AccountChain) == 0 {
		return nil, errors.New("archive has no account key or certificate")
	}
	acc := arch.AccountChain[0]
	if !identity.KeyMatches(arch.AccountKey, acc) {
		return nil, errors.New("archive: account key does not match the account certificate")
	}
	if !identity.IsCA(acc) {
		return nil, errors.New("archive: account certificate is not a CA and cannot certify devices")
	}
	for k, v := range opt.Config {
		if !validConfigKey(k) {
			return nil, fmt.Errorf("config key %q: only letters, digits, '.', '_' and '-'", k)
		}
		switch k {
		case keyReceipt, keyReceiptSig, keyTLS, keyUsername:
			return nil, fmt.Errorf("config key %q is written by jamikit itself", k)
		}
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("config value of %q is not UTF-8", k)
		}
	}
	exists, empty, err := dirState(dir)
	if err != nil {
		return nil, err
	}
	if exists && !empty && !opt.Force {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}

	dev := opt.Device
	if dev == nil {
		if dev, err = identity.NewDevice(arch.AccountKey, acc); err != nil {
			return nil, err
		}
	} else if !identity.KeyMatches(dev.Key, dev.Cert) {
		return nil, errors.New("device key does not match the device certificate")
	} else if err := identity.VerifyIssued(dev.Cert, acc); err != nil {
		return nil, fmt.Errorf("device certificate: %w", err)
	}
	eth := ""
	if len(arch.EthKey) > 0 {
		if eth, err = identity.EthAddress(arch.EthKey); err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
	}
	receipt, sig, err := MakeReceipt(arch.AccountKey, dev.Cert, eth)
	if err != nil {
		return nil, err
	}
	archData := opt.ArchiveData
	if archData == nil {
		if archData, err = archive.Encode(arch, pw); err != nil {
			return nil, err
		}
	}

	doc := &configDoc{
		Values:     map[string]string{keyUsername: identity.CertShortID(acc).String()},
		Order:      []string{keyUsername},
		TLS:        map[string]string{"certificate": DeviceCertFile, "privateKey": DeviceKeyFile},
		Receipt:    receipt,
		ReceiptSig: sig,
	}
	set := func(k, v string) {
		if _, ok := doc.Values[k]; !ok {
			doc.Order = append(doc.Order, k)
		}
		doc.Values[k] = v
	}
	if opt.DeviceName != "" {
		set(keyDeviceName, opt.DeviceName)
	}
	if !archive.IsEncrypted(archData) {
		// jamid's default is true; it must know not to ask for a password.
		set(keyArchivePW, "false")
	}
	extra := map[string]string{}
	if opt.ArchiveSettings {
		for k, v := range ImportedConfig(arch.Config) {
			if k == keyDeviceName && opt.DeviceName != "" {
				continue // the device's own name wins, as the caller said
			}
			extra[k] = v
		}
	}
	for k, v := range opt.Config {
		extra[k] = v
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		set(k, extra[k])
	}

	chain := append([]*x509.Certificate{dev.Cert}, arch.AccountChain...)
	files := []struct {
		name string
		data []byte
	}{
		{DeviceKeyFile, identity.EncodeKeyPEM(dev.Key)},
		{DeviceCertFile, identity.EncodeCertsPEM(chain...)},
		{ArchiveFile, archData},
		{ConfigFile, marshalConfig(doc)},
	}
	write := func(into string, force bool) error {
		for _, f := range files {
			if err := atomicfile.WriteFile(filepath.Join(into, f.name), f.data, atomicfile.Options{Perm: 0o600, Force: force}); err != nil {
				return err
			}
		}
		return nil
	}
	if exists && !empty {
		// --force into a folder with files: replace ours one by one.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
		if err := write(dir, true); err != nil {
			return nil, err
		}
	} else {
		// Build the folder next to its destination and rename it into place
		// (over an empty folder, which rename(2) allows): all or nothing.
		parent := filepath.Dir(filepath.Clean(dir))
		// Missing parents (e.g. jamid's data folder in a fresh HOME) are
		// created private; existing ones are left as they are.
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".tmp*")
		if err != nil {
			return nil, err
		}
		if err := write(tmp, false); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		// syscall.Rename, not os.Rename: Go refuses any existing destination
		// folder, rename(2) only a non-empty one.
		if err := syscall.Rename(tmp, dir); err != nil {
			os.RemoveAll(tmp)
			if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
				return nil, fmt.Errorf("%s: %w", dir, ErrNotEmpty)
			}
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	return &Folder{
		Dir:        dir,
		Device:     dev,
		Chain:      chain,
		Receipt:    receipt,
		ReceiptSig: sig,
		Config:     doc.Values,
		TLS:        doc.TLS,
	}, nil
}

// CheckTarget fails early, before any key is generated, when Create would
// refuse dir: it exists and is not a folder, or it has files and force (the
// Options.Force Create will get) is false.
func CheckTarget(dir string, force bool) error {
	exists, empty, err := dirState(dir)
	if err != nil {
		return err
	}
	if exists && !empty && !force {
		return fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}
	return nil
}

// dirState tells whether dir exists, and if so whether it is an empty folder.
func dirState(dir string) (exists, empty bool, err error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	if !fi.IsDir() {
		return true, false, fmt.Errorf("%s: exists and is not a folder", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return true, false, err
	}
	return true, len(ents) == 0, nil
}
