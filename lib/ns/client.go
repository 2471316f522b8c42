package ns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultServer is the public Jami name server, the daemon's default.
const DefaultServer = "https://ns.jami.net"

// maxAnswer bounds what the client reads from a server.
const maxAnswer = 1 << 20

// Client talks to a JamiNS server as the daemon does (spec §5).
type Client struct {
	Server    string       // base URL; a path is kept as a prefix
	HTTP      *http.Client // nil: http.DefaultClient
	UserAgent string
}

// NameInfo is a server's answer to GET /name/{name}.
type NameInfo struct {
	Name      string `json:"name"`
	Addr      string `json:"addr"`
	PublicKey string `json:"publickey,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// StatusError is an answer the client did not expect.
type StatusError struct {
	Status  int
	Message string // the server's "error" member, or the body's start
}

func (e *StatusError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	base := strings.TrimRight(c.Server, "/")
	if base == "" {
		base = DefaultServer
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Content-Type", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

func statusError(status int, body []byte) error {
	var a struct {
		Error string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &a) == nil {
		msg = a.Error
	} else if len(body) > 0 {
		msg = strings.Join(strings.Fields(string(body[:min(len(body), 120)])), " ")
	}
	return &StatusError{Status: status, Message: msg}
}

// LookupName asks for a name. The name is lowercased first, as the daemon
// does when it registers. A 404 is ErrNotFound.
func (c *Client) LookupName(ctx context.Context, name string) (*NameInfo, error) {
	status, body, err := c.do(ctx, http.MethodGet, "/name/"+url.PathEscape(CanonicalName(name)), nil)
	if err != nil {
		return nil, err
	}
	switch {
	case status == http.StatusNotFound:
		return nil, ErrNotFound
	case status != http.StatusOK:
		return nil, statusError(status, body)
	}
	var info NameInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("server answered something other than a name record: %w", err)
	}
	if info.Addr == "" {
		return nil, ErrNotFound
	}
	return &info, nil
}

// LookupAddr asks for the name of a Jami ID.
func (c *Client) LookupAddr(ctx context.Context, addr Address) (string, error) {
	status, body, err := c.do(ctx, http.MethodGet, "/addr/"+addr.String(), nil)
	if err != nil {
		return "", err
	}
	switch {
	case status == http.StatusNotFound:
		return "", ErrNotFound
	case status != http.StatusOK:
		return "", statusError(status, body)
	}
	var a struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return "", fmt.Errorf("server answered something other than a name: %w", err)
	}
	if a.Name == "" {
		return "", ErrNotFound
	}
	return a.Name, nil
}

// Verified is what a client could check in a server's answer.
type Verified int

const (
	// Unsigned: the record carries no key and signature (a legacy
	// registration); only the server vouches for it.
	Unsigned Verified = iota
	// SignatureValid: the key hashes to the Jami ID and signed the name.
	SignatureValid
)

// Check verifies a lookup answer as the daemon does, and more strictly:
// the name in the answer is the one asked for (lowercase), addr is 0x and
// 40 lowercase hex digits, and when the record is signed, the key hashes to
// addr and the signature over the name verifies. It returns the Jami ID.
func (info *NameInfo) Check(asked string) (Address, Verified, error) {
	if info.Name != "" && info.Name != CanonicalName(asked) {
		return Address{}, 0, fmt.Errorf("server answered the record of %q for %q", info.Name, asked)
	}
	hexPart, ok := strings.CutPrefix(info.Addr, "0x")
	if !ok || strings.ToLower(hexPart) != hexPart {
		// The daemon compares addr with its own lowercase rendering.
		return Address{}, 0, fmt.Errorf("server answered addr %q: not 0x and lowercase hex", info.Addr)
	}
	id, err := ParseJamiID(hexPart)
	if err != nil {
		return Address{}, 0, fmt.Errorf("server answered addr %q: %w", info.Addr, err)
	}
	switch {
	case info.PublicKey == "" && info.Signature == "":
		return id, Unsigned, nil
	case info.PublicKey == "" || info.Signature == "":
		return id, 0, errors.New("server answered a key without a signature, or a signature without a key")
	}
	r := Record{Name: CanonicalName(asked), Addr: id, PublicKey: info.PublicKey, Signature: info.Signature}
	if err := r.Verify(); err != nil {
		return id, 0, err
	}
	return id, SignatureValid, nil
}

// RegisterError is a refused registration, with the daemon's reading of
// the status (§2.6) in Error.
type RegisterError struct {
	Status int
	Answer map[string]any // the JSON answer, when there was one
}

// Taken reports the statuses the daemon shows as "already taken".
func (e *RegisterError) Taken() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusBadRequest && e.Status != http.StatusUnauthorized
}

func (e *RegisterError) str(k string) string {
	s, _ := e.Answer[k].(string)
	return s
}

func (e *RegisterError) Error() string {
	msg := e.str("error")
	switch {
	case e.Status == http.StatusOK:
		return "the server did not confirm the registration (no \"success\":true in its answer)"
	case e.Status == http.StatusForbidden && e.str("name") != "":
		return fmt.Sprintf("this account already has a name: %s", e.str("name"))
	case e.Status == http.StatusForbidden && e.str("addr") != "":
		return fmt.Sprintf("the name is already registered by the same owner for another account (%s)", strings.TrimPrefix(e.str("addr"), "0x"))
	case e.Status == http.StatusForbidden && e.str("owner") != "":
		return fmt.Sprintf("the name is already taken (owner %s)", e.str("owner"))
	case e.Taken():
		return fmt.Sprintf("the name is already taken (server answered %d)", e.Status)
	case e.Status == http.StatusBadRequest:
		if msg == "" {
			msg = "incomplete request"
		}
		return "the server refused the request: " + msg
	case e.Status == http.StatusUnauthorized:
		if msg == "" {
			msg = "signature verification failed"
		}
		return "the server refused the signature: " + msg
	default:
		if msg == "" {
			msg = http.StatusText(e.Status)
		}
		return fmt.Sprintf("server error (%d): %s", e.Status, msg)
	}
}

// Register posts a registration: exactly the body the daemon posts for r.
// Success is a 200 carrying "success": true; anything else is a
// *RegisterError.
func (c *Client) Register(ctx context.Context, r Record) error {
	status, body, err := c.do(ctx, http.MethodPost, "/name/"+url.PathEscape(r.Name), NewRegisterRequest(r).Marshal())
	if err != nil {
		return err
	}
	var answer map[string]any
	json.Unmarshal(body, &answer)
	if status == http.StatusOK && answer["success"] == true {
		return nil
	}
	return &RegisterError{Status: status, Answer: answer}
}
