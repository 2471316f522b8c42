package ns

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// MaxRequestBody bounds a POST /name body. The daemon's body with an RSA-4096
// key is 1884 bytes; 16 KiB leaves room for larger keys.
const MaxRequestBody = 16 << 10

// RegisterRequest is the body of POST /name/{name}, with the members in the
// order the daemon writes them (addr, owner, signature, publickey): the
// encoder below produces the daemon's bytes.
type RegisterRequest struct {
	Addr      string `json:"addr"`
	Owner     string `json:"owner"`
	Signature string `json:"signature"`
	PublicKey string `json:"publickey"`
}

// NewRegisterRequest is the body the daemon posts for r: the Jami ID and
// the owner as 40 lowercase hex digits without 0x, then the signature and
// the key verbatim.
func NewRegisterRequest(r Record) RegisterRequest {
	return RegisterRequest{Addr: r.Addr.String(), Owner: r.Owner.String(), Signature: r.Signature, PublicKey: r.PublicKey}
}

// Marshal encodes the request as the daemon does (its body is built by string
// formatting; none of the values needs escaping, so the bytes are the same).
func (q RegisterRequest) Marshal() []byte {
	b, err := json.Marshal(q)
	if err != nil { // strings only: cannot happen
		panic(err)
	}
	return b
}

// RequestError is a registration refused before it reaches the chain, with
// the status and the error text the server answers (spec §2.5).
type RequestError struct {
	Status  int
	Message string // the "error" member of the answer
	Err     error  // the detail, for logs
}

func (e *RequestError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%d): %v", e.Message, e.Status, e.Err)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Status)
}

func (e *RequestError) Unwrap() error { return e.Err }

// The answers to refused registrations. The texts are the reference
// server's where it has one.
const (
	MsgInvalidName      = "invalid name"
	MsgInvalidRequest   = "invalid request"
	MsgTooLarge         = "request too large"
	MsgInvalidAddr      = "invalid addr"
	MsgNoOwner          = "no owner"
	MsgNoPublicKey      = "publickey not found or invalid"
	MsgNoSignature      = "signature not found or invalid"
	MsgBadSignature     = "signature verification failed"
	MsgKeyMismatch      = "publickey does not match addr"
	MsgServerError      = "server error"
	MsgNameNotFound     = "name not registered"
	MsgAddrNotFound     = "address not registered"
	MsgInvalidAddress   = "invalid address"
	MsgNotFound         = "not found"
	MsgMethodNotAllowed = "method not allowed"
)

func reqErr(status int, msg string, err error) *RequestError {
	return &RequestError{Status: status, Message: msg, Err: err}
}

// DecodeRegisterRequest parses a POST body: one JSON object whose members
// addr, owner, signature and publickey, when present, are strings (null
// counts as absent); other members are ignored.
func DecodeRegisterRequest(body []byte) (RegisterRequest, error) {
	var q RegisterRequest
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return q, err
	}
	if probe == nil {
		return q, errors.New("body is not a JSON object")
	}
	if err := json.Unmarshal(body, &q); err != nil {
		return q, err
	}
	return q, nil
}

// ParseRegistration checks a registration request completely, without the
// chain: the path name, the body, addr and owner, and the key material. An
// unsigned request is refused unless allowUnsigned. A signed one must carry
// a key whose Jami ID is addr (the reference server does not check this and
// lets anyone squat a Jami ID) and a valid signature over the name. Errors
// are *RequestError.
func ParseRegistration(name string, body []byte, allowUnsigned bool) (Record, error) {
	// The path name is not lowercased: the signature covers its exact bytes.
	if !ValidName(name) {
		return Record{}, reqErr(http.StatusBadRequest, MsgInvalidName, ErrInvalidName)
	}
	q, err := DecodeRegisterRequest(body)
	if err != nil {
		return Record{}, reqErr(http.StatusBadRequest, MsgInvalidRequest, err)
	}
	return q.Check(name, allowUnsigned)
}

// Check validates a decoded request for name (see ParseRegistration).
func (q RegisterRequest) Check(name string, allowUnsigned bool) (Record, error) {
	if !ValidName(name) {
		return Record{}, reqErr(http.StatusBadRequest, MsgInvalidName, ErrInvalidName)
	}
	r := Record{Name: name, PublicKey: q.PublicKey, Signature: q.Signature}
	var err error
	if r.Addr, err = ParseJamiID(q.Addr); err != nil {
		return Record{}, reqErr(http.StatusBadRequest, MsgInvalidAddr, err)
	}
	if r.Owner, err = ParseOwner(q.Owner); err != nil {
		return Record{}, reqErr(http.StatusBadRequest, MsgNoOwner, err)
	}
	switch {
	case r.PublicKey == "" && r.Signature == "":
		if !allowUnsigned {
			return Record{}, reqErr(http.StatusBadRequest, MsgNoPublicKey, errors.New("unsigned registrations are not accepted"))
		}
		return r, nil
	case r.PublicKey == "":
		return Record{}, reqErr(http.StatusBadRequest, MsgNoPublicKey, errors.New("signature without publickey"))
	case r.Signature == "":
		return Record{}, reqErr(http.StatusBadRequest, MsgNoSignature, errors.New("publickey without signature"))
	}
	if err := r.Verify(); err != nil {
		msg := MsgBadSignature
		if errors.Is(err, ErrKeyMismatch) {
			msg = MsgKeyMismatch
		}
		return Record{}, reqErr(http.StatusUnauthorized, msg, err)
	}
	return r, nil
}

// CheckRecord applies the registration checks to a record from another
// source (an import file, the journal).
func CheckRecord(r Record, allowUnsigned bool) error {
	_, err := NewRegisterRequest(r).Check(r.Name, allowUnsigned)
	return err
}
