package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/proxy"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
	ucli "github.com/urfave/cli/v2"
)

// netFlags are the flags of every command that joins the DHT.
func netFlags(timeout time.Duration) []ucli.Flag {
	return []ucli.Flag{
		cli.BootstrapFlag(),
		cli.NetworkFlag(),
		cli.PortFlag(),
		cli.TimeoutFlag(timeout),
		cli.JSONFlag(),
		proxyFlag(),
	}
}

// proxyFlag is --proxy: every operation through an OpenDHT REST proxy
// (dhtnode --proxyserver, the proxy Jami's mobile clients use) instead
// of an ephemeral UDP node.
func proxyFlag() ucli.Flag {
	return &ucli.StringFlag{
		Name:    "proxy",
		EnvVars: []string{"JAMI_DHT_PROXY"},
		Usage:   "go through the OpenDHT REST proxy at `URL` (http://HOST:PORT) instead of joining the DHT over UDP; --bootstrap and --port are then unused",
	}
}

// connect returns what the command works on: with --proxy, a client of
// that REST proxy (checked with one /node/info request); otherwise the
// ephemeral UDP node of joinDHT.
func connect(ctx context.Context, c *ucli.Context) (dht.Client, error) {
	u := strings.TrimSpace(c.String("proxy"))
	if u == "" {
		return joinDHT(ctx, c)
	}
	opt := proxy.ClientOptions{}
	if cli.Verbose(c) {
		opt.Logger = cli.Logger(c)
	}
	pc, info, err := proxy.Dial(ctx, u, opt)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, cli.Errorf(cli.ExitTimeout, "--proxy %s: no answer", u)
		}
		if strings.HasPrefix(err.Error(), "proxy URL") {
			return nil, cli.UsageErrorf("--proxy: %v", err)
		}
		return nil, fmt.Errorf("--proxy %s: %w", u, err)
	}
	cli.Logger(c).Debug("using the DHT proxy", "url", u, "node", info.ID, "good4", info.IPv4.Good, "good6", info.IPv6.Good)
	return pc, nil
}

// nodeOnly refuses --proxy for what the REST API cannot do (field
// queries, routing information).
func nodeOnly(c *ucli.Context, what string) error {
	if strings.TrimSpace(c.String("proxy")) != "" {
		return cli.UsageErrorf("%s needs the UDP DHT: not available with --proxy", what)
	}
	return nil
}

// opContext bounds a command by --timeout (0: no limit) on top of the
// signal-cancelled context of lib/cli.
func opContext(c *ucli.Context) (context.Context, context.CancelFunc) {
	if d := c.Duration("timeout"); d > 0 {
		return context.WithTimeout(c.Context, d)
	}
	return context.WithCancel(c.Context)
}

// newNode starts the ephemeral node: a random port (or --port) on every
// address of both families, the --network id, the engine's logs with -v.
func newNode(c *ucli.Context) (*dht.Node, error) {
	port := c.Uint("port")
	if port > 65535 {
		return nil, cli.UsageErrorf("--port %d: not a UDP port", port)
	}
	netID := c.Uint("network")
	if uint64(netID) > uint64(^uint32(0)) {
		return nil, cli.UsageErrorf("--network %d: OpenDHT network ids are 32-bit", netID)
	}
	cfg := dht.Config{Port: uint16(port), Network: uint32(netID)}
	if cli.Verbose(c) {
		cfg.Logger = cli.Logger(c)
	}
	n, err := dht.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting the DHT node: %w", err)
	}
	return n, nil
}

// joinDHT starts the node and waits until one bootstrap node answers.
func joinDHT(ctx context.Context, c *ucli.Context) (*dht.Node, error) {
	var hosts []string
	for _, h := range c.StringSlice("bootstrap") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		// An empty $JAMI_BOOTSTRAP counts as unset (CONVENTIONS.md).
		hosts = cli.BootstrapFlag().Value.Value()
	}
	n, err := newNode(c)
	if err != nil {
		return nil, err
	}
	if err := n.Bootstrap(ctx, hosts...); err != nil {
		n.Close()
		if errors.Is(err, dht.ErrBootstrap) {
			// Every ping went unanswered (3 sends over about 8 s): the
			// nodes are not there, or not on this network id.
			return nil, cli.Errorf(cli.ExitTimeout, "no answer from bootstrap node %s (network %d)", strings.Join(hosts, ", "), c.Uint("network"))
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("bootstrap %s: %w", strings.Join(hosts, ", "), err)
		}
		return nil, err // names the host already
	}
	cli.Logger(c).Debug("bootstrapped", "node", n.ID(), "port", n.Addr4().Port())
	return n, nil
}

// parseKey reads a KEY argument: 40 hex characters are the key itself,
// anything else is hashed as InfoHash::get does, and stderr says so.
func parseKey(c *ucli.Context, s string) (wire.InfoHash, error) {
	if s == "" {
		return wire.InfoHash{}, cli.UsageErrorf("empty KEY")
	}
	if len(s) == 2*wire.HashLen {
		if h, err := wire.ParseInfoHash(s); err == nil {
			return h, nil
		}
	}
	h := wire.InfoHashOf([]byte(s))
	cli.Infof(c, "Using h(%s) = %s", s, h)
	return h, nil
}

// parseID reads a value id: decimal, or hexadecimal with a 0x prefix.
func parseID(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	base := 10
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		t, base = t[2:], 16
	}
	n, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: not a value id (decimal, or hexadecimal with 0x)", s)
	}
	return n, nil
}

// fieldNames are the names of value.Field in SELECT and WHERE.
var fieldNames = map[string]value.Field{
	"id": value.FieldID, "value_type": value.FieldValueType, "owner_pk": value.FieldOwnerPk,
	"seq": value.FieldSeqNum, "user_type": value.FieldUserType,
}

// cutKeyword removes a leading SELECT/WHERE keyword (either case), so
// that both "id=5" and "WHERE id=5" are accepted.
func cutKeyword(s, kw string) string {
	s = strings.TrimSpace(s)
	if len(s) >= len(kw) && strings.EqualFold(s[:len(kw)], kw) && (len(s) == len(kw) || s[len(kw)] == ' ' || s[len(kw)] == '\t') {
		return strings.TrimSpace(s[len(kw):])
	}
	return s
}

// parseWhere reads --where: "id=5,user_type=text/plain" (OpenDHT's WHERE
// text, with or without the keyword). It is stricter than OpenDHT, which
// skips or half-reads what it does not understand: every condition must be
// NAME=VALUE with a known name and a well-formed value.
func parseWhere(expr string) (*value.Where, error) {
	body := cutKeyword(expr, "WHERE")
	if body == "" {
		return nil, nil
	}
	w := &value.Where{}
	for _, cond := range strings.Split(body, ",") {
		name, val, ok := strings.Cut(cond, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		f, known := fieldNames[name]
		switch {
		case !ok || val == "":
			return nil, cli.UsageErrorf("--where %q: %q is not NAME=VALUE", expr, strings.TrimSpace(cond))
		case !known:
			return nil, cli.UsageErrorf("--where %q: unknown field %q (id, value_type, owner_pk, user_type)", expr, name)
		}
		switch f {
		case value.FieldID:
			id, err := parseID(val)
			if err != nil {
				return nil, cli.UsageErrorf("--where %q: id %v", expr, err)
			}
			w.ID(id)
		case value.FieldValueType:
			t, err := strconv.ParseUint(val, 0, 16)
			if err != nil {
				return nil, cli.UsageErrorf("--where %q: value_type %q: not a number up to 65535", expr, val)
			}
			w.ValueType(uint16(t))
		case value.FieldOwnerPk:
			h, err := wire.ParseInfoHash(val)
			if err != nil {
				return nil, cli.UsageErrorf("--where %q: owner_pk: want the 40-hex public key id", expr)
			}
			w.Owner(h)
		case value.FieldSeqNum:
			// OpenDHT 2.4.12 can neither send nor read a condition on seq:
			// a node receiving one drops the whole request.
			return nil, cli.UsageErrorf("--where %q: OpenDHT cannot filter on seq (SELECT it instead)", expr)
		case value.FieldUserType:
			if len(val) > 1 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			w.UserType(val)
		}
	}
	return w, nil
}

// parseSelect reads --select: "id,seq" or "SELECT id,seq" ("*" is every
// field). Unknown names are an error (OpenDHT ignores them).
func parseSelect(expr string) (value.Select, error) {
	var s value.Select
	body := cutKeyword(expr, "SELECT")
	if body == "*" {
		for _, f := range []value.Field{value.FieldID, value.FieldValueType, value.FieldOwnerPk, value.FieldSeqNum, value.FieldUserType} {
			s.Add(f)
		}
		return s, nil
	}
	for _, name := range strings.Split(body, ",") {
		name = strings.TrimSpace(name)
		f, ok := fieldNames[name]
		if !ok {
			return s, cli.UsageErrorf("--select %q: unknown field %q (id, value_type, owner_pk, seq, user_type or *)", expr, name)
		}
		s.Add(f)
	}
	return s, nil
}

// readData reads the DATA argument of put: "-" is stdin, "@FILE" a file,
// anything else the bytes of the argument itself.
func readData(c *ucli.Context, arg string) ([]byte, string, error) {
	var r io.Reader
	name := "argument"
	switch {
	case arg == "-":
		r, name = cli.Stdin(c), "stdin"
	case strings.HasPrefix(arg, "@"):
		name = arg[1:]
		f, err := os.Open(name)
		if err != nil {
			return nil, name, err
		}
		defer f.Close()
		r = f
	default:
		return []byte(arg), name, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, value.MaxValueSize+1))
	if err != nil {
		return nil, name, fmt.Errorf("%s: %w", name, err)
	}
	return b, name, nil
}

// idHex is how value ids are printed, as dhtnode prints them.
func idHex(id uint64) string { return strconv.FormatUint(id, 16) }

// valueJSON is a value in --json output.
type valueJSON struct {
	ID        string  `json:"id"` // hexadecimal, as printed by dhtnode
	Type      uint16  `json:"type"`
	UserType  string  `json:"user_type,omitempty"`
	Data      *[]byte `json:"data,omitempty"` // base64; absent when encrypted
	Size      int     `json:"size"`           // OpenDHT's Value::size()
	Signed    bool    `json:"signed,omitempty"`
	Seq       *int    `json:"seq,omitempty"`   // signed values
	Owner     string  `json:"owner,omitempty"` // signer's public key id
	To        string  `json:"to,omitempty"`    // recipient's public key id
	Encrypted bool    `json:"encrypted,omitempty"`
	Cypher    []byte  `json:"cypher,omitempty"` // base64
	Priority  *uint8  `json:"priority,omitempty"`
	Expired   bool    `json:"expired,omitempty"` // listen: the value expired or was removed
}

func toJSON(v *value.Value) valueJSON {
	j := valueJSON{ID: idHex(v.ID), Type: v.Type, UserType: v.UserType, Size: v.Size(), Priority: v.Priority}
	if v.IsEncrypted() {
		j.Encrypted, j.Cypher = true, v.Cypher
		return j
	}
	data := v.Data
	if data == nil {
		data = []byte{}
	}
	j.Data = &data
	if v.IsSigned() {
		seq := int(v.Seq)
		j.Signed, j.Seq, j.Owner = true, &seq, v.OwnerID().String()
	}
	if v.Recipient != nil {
		j.To = v.Recipient.String()
	}
	return j
}

// rowJSON is one row of a field query (get --select).
type rowJSON struct {
	ID        *string `json:"id,omitempty"`
	ValueType *uint64 `json:"value_type,omitempty"`
	OwnerPk   *string `json:"owner_pk,omitempty"`
	Seq       *uint64 `json:"seq,omitempty"`
	UserType  *string `json:"user_type,omitempty"`
}

func rowToJSON(r value.FieldIndex) rowJSON {
	var j rowJSON
	for f, fv := range r {
		switch f {
		case value.FieldID:
			s := idHex(fv.Int)
			j.ID = &s
		case value.FieldValueType:
			n := fv.Int
			j.ValueType = &n
		case value.FieldOwnerPk:
			s := hex.EncodeToString(fv.Hash[:])
			j.OwnerPk = &s
		case value.FieldSeqNum:
			n := fv.Int
			j.Seq = &n
		case value.FieldUserType:
			s := string(fv.Blob)
			j.UserType = &s
		}
	}
	return j
}

// opError turns what a DHT operation returned into the house exit codes:
// the end of --timeout is 4, Ctrl-C 130 (lib/cli maps both from ctx).
func opError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, dht.ErrFailed):
		return fmt.Errorf("%s: no DHT node answered", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}
