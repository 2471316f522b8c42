// Package value is the OpenDHT 2.4.12 value format: the Value record, its
// canonical msgpack packing (byte for byte what msgpack-c writes), the
// signed body, RSA signatures and encryption, the value-type table, and the
// Select/Where query language with its wire encoding (opendht.md §5–§7).
//
// The package knows nothing of Jami: Jami payloads (device announcements,
// trust requests, ...) are opaque Data here.
package value

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/jamikit/jamikit/lib/dht/msgp"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// MaxValueSize is OpenDHT's MAX_VALUE_SIZE, applied to Size().
const MaxValueSize = 64 * 1024

// Value is one DHT value. Signed values carry Owner and Signature; encrypted
// values carry only ID and Cypher (everything else is inside the cypher).
type Value struct {
	ID        uint64
	Type      uint16 // value type id (0 = USER_DATA)
	Data      []byte
	Seq       uint16         // only meaningful when signed
	Owner     []byte         // SPKI DER of the signer's public key; nil when unsigned
	Recipient *wire.InfoHash // "to"; nil when absent
	UserType  string         // "utype"; "" when absent
	Signature []byte         // nil when unsigned
	Cypher    []byte         // encrypted values: the "dat" blob; Data/Owner/... empty then
	Priority  *uint8         // "p"; nil = absent (2.4.12 writes it only when non-zero)

	// rawBody is the "body" map exactly as received (nil for values built
	// locally); ownerKey caches the parsed Owner.
	rawBody  []byte
	ownerKey crypto.PublicKey
}

var (
	// ErrUnsigned is returned by Verify for a value without owner or signature.
	ErrUnsigned = errors.New("value is not signed")
	// ErrBadSignature is returned by Verify when the signature does not check.
	ErrBadSignature = errors.New("value signature does not verify")
	// ErrEncrypted is returned when an operation needs the clear value.
	ErrEncrypted = errors.New("value is encrypted")
	// ErrInvalid wraps every Unpack failure.
	ErrInvalid = errors.New("invalid value")
)

// IsEncrypted reports whether the value is a cypher (Value::isEncrypted).
func (v *Value) IsEncrypted() bool { return len(v.Cypher) > 0 }

// IsSigned reports whether the value has an owner and a signature
// (Value::isSigned).
func (v *Value) IsSigned() bool { return len(v.Owner) > 0 && len(v.Signature) > 0 }

// hasRecipient is OpenDHT's "if (recipient)": a set, non-zero hash.
func (v *Value) hasRecipient() bool { return v.Recipient != nil && !v.Recipient.IsZero() }

// Size is Value::size(): what counts toward MaxValueSize and storage quotas.
func (v *Value) Size() int { return len(v.Cypher) + len(v.Data) + len(v.Signature) + len(v.UserType) }

// RawBody returns the "body" map as it was received, or nil when the value
// was not produced by Unpack (or was encrypted).
func (v *Value) RawBody() []byte { return v.rawBody }

// PackToSign returns the canonical msgpack of the body map, the bytes a
// signature covers (Value::msgpack_pack_to_sign): keys seq, owner, to (only
// with an owner and a non-zero recipient), type, data, utype (only if set).
func (v *Value) PackToSign() []byte {
	return v.appendToSign(make([]byte, 0, 32+len(v.Owner)+len(v.Data)+len(v.UserType)))
}

func (v *Value) appendToSign(b []byte) []byte {
	owner := len(v.Owner) > 0
	n := 2
	if owner {
		n = 4
		if v.hasRecipient() {
			n = 5
		}
	}
	if v.UserType != "" {
		n++
	}
	b = msgp.AppendMapHeader(b, n)
	if owner {
		b = msgp.AppendStr(b, "seq")
		b = msgp.AppendUint(b, uint64(v.Seq))
		b = msgp.AppendStr(b, "owner")
		b = msgp.AppendBin(b, v.Owner)
		if v.hasRecipient() {
			b = msgp.AppendStr(b, "to")
			b = msgp.AppendBin(b, v.Recipient[:])
		}
	}
	b = msgp.AppendStr(b, "type")
	b = msgp.AppendUint(b, uint64(v.Type))
	b = msgp.AppendStr(b, "data")
	b = msgp.AppendBin(b, v.Data)
	if v.UserType != "" {
		b = msgp.AppendStr(b, "utype")
		b = msgp.AppendStr(b, v.UserType)
	}
	return b
}

// PackToEncrypt returns the "dat" object (Value::getToEncrypt): the cypher as
// bin for an encrypted value, else {"body": ..., "sig"?: bin}. This is the
// plaintext that encryption seals.
func (v *Value) PackToEncrypt() []byte { return v.appendDat(nil) }

func (v *Value) appendDat(b []byte) []byte {
	if v.IsEncrypted() {
		return msgp.AppendBin(b, v.Cypher)
	}
	signed := v.IsSigned()
	if signed {
		b = msgp.AppendMapHeader(b, 2)
	} else {
		b = msgp.AppendMapHeader(b, 1)
	}
	b = msgp.AppendStr(b, "body")
	b = v.appendToSign(b)
	if signed {
		b = msgp.AppendStr(b, "sig")
		b = msgp.AppendBin(b, v.Signature)
	}
	return b
}

// Pack returns the value map {"id", "dat", "p"?} exactly as OpenDHT 2.4.12
// packs it (Value::msgpack_pack).
func (v *Value) Pack() []byte { return v.AppendPack(nil) }

// AppendPack appends Pack() to b.
func (v *Value) AppendPack(b []byte) []byte {
	if v.Priority != nil {
		b = msgp.AppendMapHeader(b, 3)
	} else {
		b = msgp.AppendMapHeader(b, 2)
	}
	b = msgp.AppendStr(b, "id")
	b = msgp.AppendUint(b, v.ID)
	b = msgp.AppendStr(b, "dat")
	b = v.appendDat(b)
	if v.Priority != nil {
		b = msgp.AppendStr(b, "p")
		b = msgp.AppendUint(b, uint64(*v.Priority))
	}
	return b
}

// MarshalMsgpack makes a Value usable as a field of a vmihailenco/msgpack
// struct; it is Pack.
func (v *Value) MarshalMsgpack() ([]byte, error) { return v.Pack(), nil }

// UnmarshalMsgpack is Unpack into v.
func (v *Value) UnmarshalMsgpack(b []byte) error {
	nv, err := Unpack(b)
	if err != nil {
		return err
	}
	*v = *nv
	return nil
}

func invalid(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrInvalid, what)
	}
	return fmt.Errorf("%w: %s: %v", ErrInvalid, what, err)
}

// Unpack parses one packed value with the rules of OpenDHT 2.4.12's
// Value::msgpack_unpack: a map of at least 2 entries with "id" (uint64) and
// "dat"; "p" optional. Keys are matched as str (first occurrence wins),
// unknown keys are ignored, blobs may be bin, str or arrays of bytes. If the
// body has an owner, seq and sig are required and the owner must be a public
// key (DER, or PEM, which is converted to DER).
func Unpack(b []byte) (*Value, error) {
	v := &Value{}
	if err := v.unpack(b, nil); err != nil {
		return nil, err
	}
	return v, nil
}

// An Unpacker parses values into memory it keeps from one call to the
// next, for a server that parses every value it receives but keeps few:
// in steady state a parse allocates nothing. Its zero value is ready.
type Unpacker struct {
	v    Value
	bufs [nBufs][]byte
	// The owner of the last signed value: ownerSrc is its blob as
	// received, ownerDER and key what it parsed to. A signer
	// re-announcing its values sends the same owner each time, and
	// parsing an RSA key allocates. Values (and their clones) share
	// ownerDER and key, which are replaced, never written.
	ownerSrc []byte
	ownerDER []byte
	key      crypto.PublicKey
	utype    string
	to       wire.InfoHash
	p        uint8
}

// The Unpacker's buffers, one per field it copies.
const (
	bufData = iota
	bufSig
	bufCypher
	bufBody
	nBufs
)

// Unpack is the package's Unpack, with the same result and the same
// errors, into u's memory: the value and everything it points to belong
// to u and are overwritten by the next call. Clone what must outlive it.
func (u *Unpacker) Unpack(b []byte) (*Value, error) {
	u.v = Value{}
	if err := u.v.unpack(b, u); err != nil {
		u.v = Value{}
		return nil, err
	}
	return &u.v, nil
}

// keep copies p for a Value: into a new exact-size slice without an
// Unpacker (never nil, as asBlob), else into the Unpacker's buffer i.
func (u *Unpacker) keep(i int, p []byte) []byte {
	if u == nil {
		return append([]byte{}, p...)
	}
	u.bufs[i] = append(u.bufs[i][:0], p...)
	if u.bufs[i] == nil {
		return []byte{}
	}
	return u.bufs[i]
}

// Clone returns a copy of v that shares no memory with it but its parsed
// owner key (immutable). Nil fields stay nil.
func (v *Value) Clone() *Value {
	c := *v
	c.Data = cloneBytes(v.Data)
	c.Owner = cloneBytes(v.Owner)
	c.Signature = cloneBytes(v.Signature)
	c.Cypher = cloneBytes(v.Cypher)
	c.rawBody = cloneBytes(v.rawBody)
	if v.Recipient != nil {
		to := *v.Recipient
		c.Recipient = &to
	}
	if v.Priority != nil {
		p := *v.Priority
		c.Priority = &p
	}
	return &c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// unpack is Unpack into v; with an Unpacker, what v keeps lives in u.
func (v *Value) unpack(b []byte, u *Unpacker) error {
	r := msgp.NewReader(b)
	k, n, _, err := r.Head()
	if err != nil {
		return invalid("value", err)
	}
	if k != msgp.KindMap || n < 2 {
		return invalid("value is not a map of at least 2 entries", nil)
	}
	fs, err := msgp.ReadMap(b)
	if err != nil {
		return invalid("value", err)
	}
	rid := fs.Find("id")
	if rid == nil {
		return invalid("no id", nil)
	}
	if v.ID, err = asUint(rid, math.MaxUint64); err != nil {
		return invalid("id", err)
	}
	rdat := fs.Find("dat")
	if rdat == nil {
		return invalid("no dat", nil)
	}
	if err := v.unpackDat(rdat, u); err != nil {
		return err
	}
	if rp := fs.Find("p"); rp != nil {
		// 2.4.12 reads an unsigned int; the contract keeps a uint8 (HEAD's
		// priorities are small), so larger values are refused rather than
		// silently changed.
		p, err := asUint(rp, math.MaxUint8)
		if err != nil {
			return invalid("p", err)
		}
		pp := new(uint8)
		if u != nil {
			pp = &u.p
		}
		*pp = uint8(p)
		v.Priority = pp
	}
	return nil
}

// UnpackDat parses a "dat" object (the plaintext of an encrypted value, or
// the "dat" of a packed value) into a value with the given id
// (Value::msgpack_unpack_body).
func UnpackDat(id uint64, dat []byte) (*Value, error) {
	v := &Value{ID: id}
	if err := v.unpackDat(dat, nil); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Value) unpackDat(rdat []byte, u *Unpacker) error {
	r := msgp.NewReader(rdat)
	k, _, p, err := r.Head()
	if err != nil {
		return invalid("dat", err)
	}
	if k == msgp.KindBin {
		v.Cypher = u.keep(bufCypher, p)
		return nil
	}
	if k != msgp.KindMap {
		return invalid("dat is neither bin nor map", nil)
	}
	dfs, err := msgp.ReadMap(rdat)
	if err != nil {
		return invalid("dat", err)
	}
	rbody := dfs.Find("body")
	if rbody == nil {
		return invalid("no body", nil)
	}
	bfs, err := msgp.ReadMap(rbody)
	if err != nil {
		return invalid("body", err)
	}
	rdata := bfs.Find("data")
	if rdata == nil {
		return invalid("no data", nil)
	}
	data, err := rawBlob(rdata)
	if err != nil {
		return invalid("data", err)
	}
	v.Data = u.keep(bufData, data)
	rtype := bfs.Find("type")
	if rtype == nil {
		return invalid("no type", nil)
	}
	t, err := asUint(rtype, math.MaxUint16)
	if err != nil {
		return invalid("type", err)
	}
	v.Type = uint16(t)
	if ru := bfs.Find("utype"); ru != nil {
		r := msgp.NewReader(ru)
		s, err := r.Text()
		if err != nil {
			return invalid("utype", err)
		}
		switch {
		case u == nil:
			v.UserType = string(s)
		case string(s) == u.utype: // compared without a copy
			v.UserType = u.utype
		default:
			u.utype = string(s)
			v.UserType = u.utype
		}
	}
	if rowner := bfs.Find("owner"); rowner != nil {
		rseq := bfs.Find("seq")
		if rseq == nil {
			return invalid("owner without seq", nil)
		}
		s, err := asUint(rseq, math.MaxUint16)
		if err != nil {
			return invalid("seq", err)
		}
		v.Seq = uint16(s)
		blob, err := rawBlob(rowner)
		if err != nil {
			return invalid("owner", err)
		}
		if u != nil && u.key != nil && bytes.Equal(blob, u.ownerSrc) {
			// Same blob, same outcome.
			v.Owner, v.ownerKey = u.ownerDER, u.key
		} else {
			// Parsed from a copy of its own: a parsed key may alias its
			// DER (Ed25519 does), and both outlive b and u's next call.
			der, key, err := parseOwner(append([]byte{}, blob...))
			if err != nil {
				return invalid("owner", err)
			}
			v.Owner, v.ownerKey = der, key
			if u != nil {
				u.ownerSrc = append(u.ownerSrc[:0], blob...)
				u.ownerDER, u.key = der, key
			}
		}
		if rto := bfs.Find("to"); rto != nil {
			h, err := asBin20(rto)
			if err != nil {
				return invalid("to", err)
			}
			to := new(wire.InfoHash)
			if u != nil {
				to = &u.to
			}
			*to = wire.InfoHash(h)
			v.Recipient = to
		}
		rsig := dfs.Find("sig")
		if rsig == nil {
			return invalid("owner without sig", nil)
		}
		sig, err := rawBlob(rsig)
		if err != nil {
			return invalid("sig", err)
		}
		v.Signature = u.keep(bufSig, sig)
	}
	v.rawBody = u.keep(bufBody, rbody)
	return nil
}

// parseOwner accepts what gnutls_pubkey_import accepts in OpenDHT: PEM first,
// then DER. The key is kept as DER, which is what OpenDHT re-packs.
func parseOwner(blob []byte) ([]byte, crypto.PublicKey, error) {
	if blk, _ := pem.Decode(blob); blk != nil && blk.Type == "PUBLIC KEY" {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err == nil {
			return blk.Bytes, k, nil
		}
	}
	k, err := x509.ParsePKIXPublicKey(blob)
	if err != nil {
		return nil, nil, err
	}
	return blob, k, nil
}

// OwnerKey returns the parsed owner public key, or nil when unsigned or
// unparsable.
func (v *Value) OwnerKey() crypto.PublicKey {
	if v.ownerKey == nil && len(v.Owner) > 0 {
		if k, err := x509.ParsePKIXPublicKey(v.Owner); err == nil {
			v.ownerKey = k
		}
	}
	return v.ownerKey
}

// OwnerID returns the owner's public key id, SHA-1 of the SPKI DER
// (PublicKey::getId), or the zero hash when unsigned.
func (v *Value) OwnerID() wire.InfoHash {
	if len(v.Owner) == 0 {
		return wire.InfoHash{}
	}
	return wire.InfoHashOf(v.Owner)
}

// Sign sets Owner to key's SPKI DER and Signature to RSASSA-PKCS1-v1_5
// SHA-512 over PackToSign() (Value::sign). Seq, Recipient and the rest must
// be set before.
func (v *Value) Sign(key *rsa.PrivateKey) error {
	if v.IsEncrypted() {
		return ErrEncrypted
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	v.Owner, v.ownerKey, v.rawBody = der, &key.PublicKey, nil
	sum := sha512.Sum512(v.PackToSign())
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA512, sum[:])
	if err != nil {
		return err
	}
	v.Signature = sig
	return nil
}

// Verify checks Signature with Owner the way OpenDHT does
// (PublicKey::checkSignature, hard-wired to RSA-SHA512): over its own
// canonical re-packing of the body, not over the received bytes. A value
// whose received body was not canonical therefore verifies only if the
// signer signed the canonical form — exactly what every OpenDHT node accepts.
func (v *Value) Verify() error {
	if v.IsEncrypted() {
		return ErrEncrypted
	}
	if !v.IsSigned() {
		return ErrUnsigned
	}
	pub, ok := v.OwnerKey().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: owner is not an RSA key", ErrBadSignature)
	}
	sum := sha512.Sum512(v.PackToSign())
	if rsa.VerifyPKCS1v15(pub, crypto.SHA512, sum[:], v.Signature) != nil {
		return ErrBadSignature
	}
	return nil
}

// BodyCanonical reports whether the received body bytes are exactly the
// canonical packing (always true for values built locally).
func (v *Value) BodyCanonical() bool {
	return v.rawBody == nil || bytes.Equal(v.rawBody, v.PackToSign())
}

// ContentEquals is Value::contentEquals: the cypher for encrypted values,
// else owner, type, data, user type and signature (not seq, not recipient).
func (v *Value) ContentEquals(o *Value) bool {
	if v.IsEncrypted() {
		return bytes.Equal(v.Cypher, o.Cypher)
	}
	return bytes.Equal(v.Owner, o.Owner) && v.Type == o.Type &&
		bytes.Equal(v.Data, o.Data) && v.UserType == o.UserType &&
		bytes.Equal(v.Signature, o.Signature)
}

// Equal is Value::operator==: same id and same content.
func (v *Value) Equal(o *Value) bool { return v.ID == o.ID && v.ContentEquals(o) }

// String is OpenDHT's operator<< for a value, the line dhtnode prints:
// `Value[id:df0ff0c52ab0553c signed (v0) data(text/plain):"hello"]`.
func (v *Value) String() string {
	var sb strings.Builder
	sb.WriteString("Value[id:" + strconv.FormatUint(v.ID, 16) + " ")
	if v.IsEncrypted() {
		sb.WriteString("encrypted ")
	} else if v.IsSigned() {
		sb.WriteString("signed (v" + strconv.Itoa(int(v.Seq)) + ") ")
		if v.hasRecipient() {
			sb.WriteString("decrypted ")
		}
	}
	if !v.IsEncrypted() {
		switch v.Type {
		case TypeIPService:
			sb.WriteString(ipServiceString(v.Data))
		case TypeCertificate:
			sb.WriteString("Certificate")
		default:
			if v.UserType == "" {
				sb.WriteString("data:")
			} else {
				sb.WriteString("data(" + v.UserType + "):")
			}
			switch {
			case v.UserType == "text/plain":
				sb.WriteString(`"` + string(v.Data) + `"`)
			case len(v.Data) < 1024:
				sb.WriteString(hex.EncodeToString(v.Data))
			default:
				sb.WriteString(strconv.Itoa(len(v.Data)) + " bytes")
			}
		}
	}
	sb.WriteByte(']')
	return sb.String()
}

// ipServiceString prints an IpServiceAnnouncement as OpenDHT does:
// "Peer: port N addr A" for an IPv4/IPv6 sockaddr.
func ipServiceString(data []byte) string {
	r := msgp.NewReader(data)
	sa, err := r.Bin()
	if err != nil || len(sa) == 0 {
		return ""
	}
	port, _ := sockaddrPort(data)
	s := "Peer: port " + strconv.Itoa(int(port))
	if len(sa) >= 8 && binary.LittleEndian.Uint16(sa) == afInet {
		return s + " addr " + netip.AddrFrom4([4]byte(sa[4:8])).String()
	}
	if len(sa) >= 24 && binary.LittleEndian.Uint16(sa) == afInet6 {
		return s + " addr " + netip.AddrFrom16([16]byte(sa[8:24])).String()
	}
	return s
}
