package chain

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/jamikit/jamikit/lib/atomicfile"
)

// Files of a data directory.
const (
	lockFile    = "jami-ns.lock"  // one process per data directory
	keyFile     = "server.key"    // the server account's secp256k1 key, hex (0600)
	genesisFile = "genesis.json"  // written on the first start, read on every start
	stateFile   = "state.json"    // the deployed contract; written once it is deployed
	journalFile = "journal.jsonl" // confirmed registrations (ns.Journal)
	nodeName    = "jami-ns"       // the chain's folder: <dir>/jami-ns/chaindata, ...
)

// ErrInUse is a data directory held by another process.
var ErrInUse = errors.New("data directory in use by another jami-ns process")

// lockDir takes an exclusive lock on dir for this process's lifetime (the
// kernel drops it when the process dies, kill -9 included). The file holds
// the owner's pid, for the error message of the next one.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b[:n]))); perr == nil {
				return nil, fmt.Errorf("%s: %w (pid %d)", dir, ErrInUse, pid)
			}
			return nil, fmt.Errorf("%s: %w", dir, ErrInUse)
		}
		return nil, fmt.Errorf("%s: lock: %w", path, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// LoadKey reads a secp256k1 key file: 64 hex digits (optional 0x), as geth
// writes them.
func LoadKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimPrefix(strings.TrimSpace(string(b)), "0x")
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("%s: not a secp256k1 key (64 hex digits)", path)
	}
	k, err := crypto.ToECDSA(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func saveKey(path string, k *ecdsa.PrivateKey) error {
	return atomicfile.WriteFile(path, []byte(hex.EncodeToString(crypto.FromECDSA(k))+"\n"), atomicfile.Options{Perm: 0o600})
}

// state is state.json: what the first start set up.
type state struct {
	ChainID     uint64 `json:"chain_id"`
	Contract    string `json:"contract"`
	Account     string `json:"account"`
	GenesisHash string `json:"genesis_hash"`
	DeployBlock uint64 `json:"deploy_block"`
}

func readState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s state
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

func writeJSON(path string, v any, force bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), atomicfile.Options{Perm: 0o600, Force: force})
}
