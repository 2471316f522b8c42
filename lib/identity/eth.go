package identity

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/sha3"
)

// The account's "Ethereum" key: a secp256k1 secret whose address goes into
// device receipts ("eth") and is used for name registration (account.md §1.6).

// EthKeySize is the length of the secret scalar.
const EthKeySize = 32

// NewEthKey draws a secp256k1 secret in [1, n-1], 32 bytes big-endian.
func NewEthKey() ([]byte, error) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("generating secp256k1 key: %w", err)
	}
	return k.Serialize(), nil
}

// EthAddress is the lowercase hex (no 0x, no EIP-55 case) of the last 20
// bytes of legacy Keccak-256 over the uncompressed public point X||Y.
func EthAddress(ethKey []byte) (string, error) {
	if len(ethKey) != EthKeySize {
		return "", fmt.Errorf("eth key: %d bytes, want %d", len(ethKey), EthKeySize)
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(ethKey); overflow || s.IsZero() {
		return "", errors.New("eth key: not a valid secp256k1 secret (must be in [1, n-1])")
	}
	pub := secp256k1.NewPrivateKey(&s).PubKey().SerializeUncompressed() // 0x04||X||Y
	h := sha3.NewLegacyKeccak256()
	h.Write(pub[1:])
	return hex.EncodeToString(h.Sum(nil)[12:]), nil
}
