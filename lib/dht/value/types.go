package value

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"net/netip"
	"time"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// Type ids of OpenDHT's default value types (opendht.md §7).
const (
	TypeUserData     uint16 = 0
	TypeDhtMessage   uint16 = 1
	TypeIPService    uint16 = 2
	TypeImMessage    uint16 = 3
	TypeTrustRequest uint16 = 4
	TypeIceCandidate uint16 = 5
	TypeCertificate  uint16 = 8
)

// StoreRule names the base store policy of a type (ValueType::storePolicy).
type StoreRule uint8

const (
	// StoreSizeLimit is DEFAULT_STORE_POLICY: Size() ≤ MaxValueSize.
	StoreSizeLimit StoreRule = iota
	// StoreDhtMessage refuses a value whose data parses as [service, data]
	// with an empty service; otherwise StoreSizeLimit.
	StoreDhtMessage
	// StoreIPService needs data = bin(sockaddr) with a non-zero port and
	// replaces the value by one holding the sender's address with that port.
	StoreIPService
	// StoreCertificate needs data holding a certificate whose public key id
	// (SHA-1 of the SPKI DER) equals the key.
	StoreCertificate
)

// EditRule names the base edit policy of a type (ValueType::editPolicy),
// applied when a different value arrives with an id already stored.
type EditRule uint8

const (
	// EditDeny is DEFAULT_EDIT_POLICY: never replace.
	EditDeny EditRule = iota
	// EditSameCertificate allows the replacement when both certificates
	// have the same public key id.
	EditSameCertificate
)

// Type is one registered value type. Secured types get SecureDht's wrapping
// (SecureDht::secureType): a signed value must verify to be stored, and a
// signed value may be edited only by its owner with a higher seq.
type Type struct {
	ID         uint16
	Name       string
	Expiration time.Duration
	Store      StoreRule
	Edit       EditRule
	Secured    bool
}

// Default types as a 2.4.12 DhtRunner registers them: 0, 1, 3, 4, 5
// secured; 2 and 8 insecure.
var (
	UserData      = Type{TypeUserData, "User Data", 10 * time.Minute, StoreSizeLimit, EditDeny, true}
	DhtMessage    = Type{TypeDhtMessage, "DHT message", 5 * time.Minute, StoreDhtMessage, EditDeny, true}
	IPService     = Type{TypeIPService, "Internet Service Announcement", 15 * time.Minute, StoreIPService, EditDeny, false}
	ImMessage     = Type{TypeImMessage, "IM message", 5 * time.Minute, StoreSizeLimit, EditDeny, true}
	TrustRequest  = Type{TypeTrustRequest, "Certificate trust request", 7 * 24 * time.Hour, StoreSizeLimit, EditDeny, true}
	IceCandidates = Type{TypeIceCandidate, "ICE candidates", time.Minute, StoreSizeLimit, EditDeny, true}
	Certificate   = Type{TypeCertificate, "Certificate", 7 * 24 * time.Hour, StoreCertificate, EditSameCertificate, false}

	// Unregistered is what an unknown type id falls back to (the plain,
	// unsecured ValueType::USER_DATA, not the secured registration of 0).
	Unregistered = Type{TypeUserData, "User Data", 10 * time.Minute, StoreSizeLimit, EditDeny, false}
)

// Registry maps type ids to types (TypeStore).
type Registry struct{ types map[uint16]Type }

// NewRegistry returns a registry holding the default types.
func NewRegistry() *Registry {
	r := &Registry{types: map[uint16]Type{}}
	for _, t := range []Type{UserData, DhtMessage, IPService, ImMessage, TrustRequest, IceCandidates, Certificate} {
		r.Register(t)
	}
	return r
}

// Register adds or replaces a type.
func (r *Registry) Register(t Type) { r.types[t.ID] = t }

// Get returns the type for id, or Unregistered.
func (r *Registry) Get(id uint16) Type {
	if t, ok := r.types[id]; ok {
		return t
	}
	return Unregistered
}

// AllowStore applies the type's store policy to a value arriving at key
// from addr. It returns the value to store (the IP service type replaces
// it) and whether storing is allowed. Encrypted values have type 0 from
// the storer's point of view and go through the size check.
func (t Type) AllowStore(key wire.InfoHash, v *Value, addr netip.AddrPort) (*Value, bool) {
	if t.Secured && v.IsSigned() {
		// 2.4.12 returns the signature check alone here: a signed value of
		// a secured type skips the base policy (size included).
		return v, v.Verify() == nil
	}
	switch t.Store {
	case StoreDhtMessage:
		if svc, ok := dhtMessageService(v.Data); ok && svc == "" {
			return v, false
		}
	case StoreIPService:
		port, ok := sockaddrPort(v.Data)
		if !ok || port == 0 {
			return v, false
		}
		nv := &Value{ID: v.ID, Type: TypeIPService, Data: msgp.AppendBin(nil, sockaddrBytes(netip.AddrPortFrom(addr.Addr(), port)))}
		return nv, nv.Size() <= MaxValueSize
	case StoreCertificate:
		id, ok := CertificateKeyID(v.Data)
		return v, ok && id == key
	}
	return v, v.Size() <= MaxValueSize
}

// AllowEdit applies the type's edit policy when nv arrives with the id of
// the stored, different value old.
func (t Type) AllowEdit(key wire.InfoHash, old, nv *Value, addr netip.AddrPort) bool {
	if t.Secured && old.IsSigned() {
		if !nv.IsSigned() || !bytes.Equal(old.Owner, nv.Owner) || nv.Verify() != nil {
			return false
		}
		if nv.Seq == old.Seq {
			// Same seq: only a re-announce of the very same signed bytes.
			return bytes.Equal(old.PackToSign(), nv.PackToSign())
		}
		return nv.Seq > old.Seq
	}
	if t.Edit == EditSameCertificate {
		a, ok1 := CertificateKeyID(old.Data)
		b, ok2 := CertificateKeyID(nv.Data)
		return ok1 && ok2 && a == b
	}
	return false
}

// dhtMessageService reads the service of a DhtMessage [str service, bin
// data]; ok is false when the data does not parse as one.
func dhtMessageService(data []byte) (string, bool) {
	elems, err := asArray(data)
	if err != nil || len(elems) != 2 {
		return "", false
	}
	svc, err := asString(elems[0])
	if err != nil {
		return "", false
	}
	if _, err := asBlob(elems[1]); err != nil {
		return "", false
	}
	return svc, true
}

// Linux address family numbers, as they appear (host byte order, i.e.
// little-endian here) at the start of a raw sockaddr.
const (
	afInet  = 2
	afInet6 = 10
)

// sockaddrPort reads the port of an IpServiceAnnouncement: data is a
// msgpack bin holding a raw sockaddr_in/sockaddr_in6.
func sockaddrPort(data []byte) (uint16, bool) {
	r := msgp.NewReader(data)
	sa, err := r.Bin()
	if err != nil {
		return 0, false
	}
	if len(sa) < 4 {
		return 0, true
	}
	switch binary.LittleEndian.Uint16(sa) {
	case afInet, afInet6:
		return binary.BigEndian.Uint16(sa[2:]), true
	}
	return 0, true
}

// sockaddrBytes builds the raw Linux sockaddr OpenDHT packs for an address.
func sockaddrBytes(ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	if a.Is4() {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint16(b, afInet)
		binary.BigEndian.PutUint16(b[2:], ap.Port())
		ip := a.As4()
		copy(b[4:], ip[:])
		return b
	}
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], ap.Port())
	ip := a.As16()
	copy(b[8:], ip[:])
	return b
}

// CertificateKeyID returns the public key id (SHA-1 of the SPKI DER) of
// the first certificate in certificate-value data: OpenDHT stores the PEM
// chain inside a msgpack bin, and gnutls finds the PEM markers anyway, so
// a bare PEM or DER chain is accepted too.
func CertificateKeyID(data []byte) (wire.InfoHash, bool) {
	body := data
	r := msgp.NewReader(data)
	if p, err := r.Text(); err == nil {
		body = p
	}
	der := body
	if blk, _ := pem.Decode(body); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return wire.InfoHash{}, false
		}
		der = blk.Bytes
	}
	spki, ok := certSPKI(der)
	if !ok {
		return wire.InfoHash{}, false
	}
	return wire.InfoHashOf(spki), true
}

// certSPKI digs the SubjectPublicKeyInfo out of a DER certificate with
// plain ASN.1, so certificates crypto/x509 refuses (OpenDHT's negative
// serials, opendht.md §5.6) still yield their key id.
func certSPKI(der []byte) ([]byte, bool) {
	var cert, tbs asn1.RawValue
	if _, err := asn1.Unmarshal(der, &cert); err != nil || !cert.IsCompound {
		return nil, false
	}
	if _, err := asn1.Unmarshal(cert.Bytes, &tbs); err != nil || !tbs.IsCompound {
		return nil, false
	}
	in := tbs.Bytes
	// tbsCertificate: [0] version (optional), serial, signature,
	// issuer, validity, subject, subjectPublicKeyInfo.
	idx := 0
	for len(in) > 0 {
		var e asn1.RawValue
		rest, err := asn1.Unmarshal(in, &e)
		if err != nil {
			return nil, false
		}
		if idx == 0 && e.Class == asn1.ClassContextSpecific && e.Tag == 0 {
			in = rest
			continue
		}
		if idx == 5 {
			if e.Class != asn1.ClassUniversal || e.Tag != asn1.TagSequence {
				return nil, false
			}
			return e.FullBytes, true
		}
		idx++
		in = rest
	}
	return nil, false
}
