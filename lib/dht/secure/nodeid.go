package secure

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/jamikit/jamikit/lib/dht/wire"
	"github.com/jamikit/jamikit/lib/identity"
)

// NodeIdentity is what OpenDHT's dhtnode -i generates (opendht.md §5.6):
// a self-signed EC P-384 CA "<name> CA" and an RSA-4096 node certificate
// "<name>" it signs with ECDSA-SHA384. The node's Identity chain is
// [node certificate, CA certificate].
type NodeIdentity struct {
	Identity
	CAKey *ecdsa.PrivateKey
}

// NodeValidity is the lifetime of generated certificates (10 years, as
// OpenDHT's crypto::generateIdentity).
const NodeValidity = 10 * 365 * 24 * time.Hour

var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// nodeName is "CN=<cn>, UID=<public key id hex>", the subject OpenDHT
// gives every generated certificate.
func nodeName(cn string, keyID []byte) pkix.Name {
	return pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: cn},
		{Type: oidUID, Value: hex.EncodeToString(keyID)},
	}}
}

func randomSerial() (*big.Int, error) {
	// OpenDHT uses 8 random bytes; Go refuses to write a negative serial,
	// so the top bit is cleared (OpenDHT's are negative half of the time).
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}

// GenerateNodeIdentity makes a fresh node identity (one RSA-4096 key: about
// half a second of CPU). name "" is "DHT Node".
func GenerateNodeIdentity(name string) (*NodeIdentity, error) {
	key, err := rsa.GenerateKey(rand.Reader, identity.KeyBits)
	if err != nil {
		return nil, err
	}
	return NodeIdentityFromKey(name, key, time.Now())
}

// NodeIdentityFromKey is GenerateNodeIdentity with the node key given
// (tests use committed keys); the CA key is generated (EC P-384, cheap).
func NodeIdentityFromKey(name string, key *rsa.PrivateKey, now time.Time) (*NodeIdentity, error) {
	if name == "" {
		name = "DHT Node"
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caSPKI, err := x509.MarshalPKIXPublicKey(&caKey.PublicKey)
	if err != nil {
		return nil, err
	}
	caID := wire.InfoHashOf(caSPKI)
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notBefore := now.UTC().Truncate(time.Second)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               nodeName(name+" CA", caID[:]),
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(NodeValidity),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        false,
		MaxPathLen:            -1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId:          caID[:],
		SignatureAlgorithm:    x509.ECDSAWithSHA384,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	id := pkID(&key.PublicKey)
	if serial, err = randomSerial(); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            nodeName(name, id[:]),
		NotBefore:          notBefore,
		NotAfter:           notBefore.Add(NodeValidity),
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageDataEncipherment,
		SubjectKeyId:       id[:],
		SignatureAlgorithm: x509.ECDSAWithSHA384,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &NodeIdentity{Identity: Identity{Key: key, Chain: []*x509.Certificate{cert, caCert}}, CAKey: caKey}, nil
}

// NodeID is the DHT node id OpenDHT derives from an identity when none is
// configured (SecureDht::getConfig): SHA-1 of "node:" + the public key id
// in hexadecimal.
func (id *Identity) NodeID() wire.InfoHash {
	return wire.InfoHashOf([]byte("node:" + id.PublicKeyID().String()))
}
