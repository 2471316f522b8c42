package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// The client side of the p2p git dialect (swarm.md §5.4), as libgit2
// speaks it to jamid's server: one want (main), haves in rounds each
// followed by a flush and answered, then done and the pack in side-band.

// MaxFetchSize is jamid's MAX_FETCH_SIZE: a clone or fetch that receives
// more is aborted (§4.11).
const MaxFetchSize = 256 << 20

const (
	havesPerRound = 32
	// maxHaves bounds the negotiation. Beyond it the server sends
	// objects we already have, which costs bandwidth, not correctness.
	maxHaves = 4096
)

// ErrRemote is wrapped by errors that come from the peer's answers.
var ErrRemote = errors.New("remote")

// Advertised is what a server advertised.
type Advertised struct {
	Head plumbing.Hash
	Caps []string
	Refs map[string]plumbing.Hash
}

// Main is refs/heads/main, or HEAD when the server does not list it.
func (a *Advertised) Main() plumbing.Hash {
	if h, ok := a.Refs[MainBranch.String()]; ok {
		return h
	}
	return a.Head
}

// fetchPack asks the server on rw for main. path is the request path
// ("/<conversation id>") and host the host parameter (jamid: the server's
// device ID; both are ignored by jamid's server). The pack is nil when r
// already has the advertised main.
func (r *Repo) fetchPack(ctx context.Context, rw io.ReadWriter, path, host string) (*Advertised, []byte, error) {
	req := uploadPackCmd + path + "\x00host=" + host + "\x00"
	if _, err := rw.Write(pktString(req)); err != nil {
		return nil, nil, err
	}
	pr := NewPktReader(rw)
	adv, err := readAdvertisement(pr)
	if err != nil {
		return nil, nil, err
	}
	want := adv.Main()
	if _, err := r.Commit(want); err == nil {
		// Already here (§5.5 step 1): tell the server we are done.
		_, err := rw.Write(flushPkt)
		return adv, nil, err
	}
	caps := "side-band-64k"
	if hasCap(adv.Caps, "no-progress") {
		caps += " no-progress"
	}
	msg := append(pktString("want "+want.String()+" "+caps+"\n"), flushPkt...)
	if _, err := rw.Write(msg); err != nil {
		return nil, nil, err
	}
	haves, err := r.haveList()
	if err != nil {
		return nil, nil, err
	}
	for len(haves) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		n := min(havesPerRound, len(haves))
		var round []byte
		for _, h := range haves[:n] {
			round = append(round, pktString("have "+h.String()+"\n")...)
		}
		haves = haves[n:]
		if _, err := rw.Write(append(round, flushPkt...)); err != nil {
			return nil, nil, err
		}
		// Each flushed round is answered by ACKs and a NAK.
		for {
			line, flush, err := pr.ReadLine()
			if err != nil {
				return nil, nil, fmt.Errorf("negotiation: %w", err)
			}
			if flush || line == "NAK" {
				break
			}
			if err := remoteError(line); err != nil {
				return nil, nil, err
			}
			if !strings.HasPrefix(line, "ACK ") {
				return nil, nil, fmt.Errorf("%w: unexpected negotiation line %q", ErrRemote, line)
			}
		}
	}
	if _, err := rw.Write(pktString("done\n")); err != nil {
		return nil, nil, err
	}
	line, _, err := pr.ReadLine()
	if err != nil {
		return nil, nil, fmt.Errorf("negotiation: %w", err)
	}
	if err := remoteError(line); err != nil {
		return nil, nil, err
	}
	if line != "NAK" && !strings.HasPrefix(line, "ACK ") {
		return nil, nil, fmt.Errorf("%w: unexpected answer to done: %q", ErrRemote, line)
	}
	pack, err := readSideBand(ctx, pr)
	if err != nil {
		return nil, nil, err
	}
	return adv, pack, nil
}

// haveList is the local history, newest first, at most maxHaves commits.
func (r *Repo) haveList() ([]plumbing.Hash, error) {
	head, err := r.Head()
	if err != nil {
		return nil, nil // unborn: a clone has nothing
	}
	order, err := r.WalkOrder(head)
	if err != nil {
		return nil, err
	}
	if len(order) > maxHaves {
		order = order[:maxHaves]
	}
	return order, nil
}

func hasCap(caps []string, c string) bool {
	for _, x := range caps {
		if x == c {
			return true
		}
	}
	return false
}

// remoteError turns an "ERR message" line into an error.
func remoteError(line string) error {
	if msg, ok := strings.CutPrefix(line, "ERR "); ok {
		return fmt.Errorf("%w: %s", ErrRemote, msg)
	}
	return nil
}

// readAdvertisement reads the reference advertisement: "<id> HEAD\0caps"
// first, then "<id> <name>" lines, then a flush. An empty advertisement
// (a server with nothing to serve) is an error.
func readAdvertisement(pr *PktReader) (*Advertised, error) {
	adv := &Advertised{Refs: map[string]plumbing.Hash{}}
	first := true
	for {
		b, flush, err := pr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) && first {
				return nil, fmt.Errorf("%w: closed the stream without advertising anything (no such conversation?)", ErrRemote)
			}
			return nil, fmt.Errorf("advertisement: %w", err)
		}
		if flush {
			if first {
				return nil, fmt.Errorf("%w: advertised no reference", ErrRemote)
			}
			return adv, nil
		}
		line := strings.TrimSuffix(string(b), "\n")
		if first && line == "version 1\x00" {
			continue
		}
		if err := remoteError(line); err != nil {
			return nil, err
		}
		if first {
			var caps string
			line, caps, _ = strings.Cut(line, "\x00")
			adv.Caps = strings.Fields(caps)
		}
		id, ok := parseHexID(line)
		if !ok || len(line) < 42 || line[40] != ' ' {
			return nil, fmt.Errorf("%w: malformed advertisement line %q", ErrRemote, truncate([]byte(line)))
		}
		name := line[41:]
		if name == "HEAD" {
			adv.Head = id
		} else {
			adv.Refs[name] = id
		}
		first = false
	}
}

// readSideBand collects side-band channel 1 until the flush; channel 2 is
// progress (dropped), channel 3 an error. More than MaxFetchSize aborts.
func readSideBand(ctx context.Context, pr *PktReader) ([]byte, error) {
	var pack bytes.Buffer
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, flush, err := pr.Read()
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		if flush {
			return pack.Bytes(), nil
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: empty side-band packet", ErrRemote)
		}
		switch b[0] {
		case 1:
			if pack.Len()+len(b)-1 > MaxFetchSize {
				return nil, fmt.Errorf("%w: fetch larger than %d MiB", ErrRemote, MaxFetchSize>>20)
			}
			pack.Write(b[1:])
		case 2:
		case 3:
			return nil, fmt.Errorf("%w: %s", ErrRemote, strings.TrimSpace(string(b[1:])))
		default:
			return nil, fmt.Errorf("%w: side-band channel %d", ErrRemote, b[0])
		}
	}
}

// importPack stores the objects of a received pack in r (readPack: every
// size bounded, deltas checked).
func (r *Repo) importPack(pack []byte) error {
	if len(pack) == 0 {
		return fmt.Errorf("%w: empty pack", ErrRemote)
	}
	objs, err := readPack(pack, func(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
		obj, err := r.git.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return 0, nil, err
		}
		data, err := r.ReadObject(h, obj.Type())
		return obj.Type(), data, err
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRemote, err)
	}
	for _, o := range objs {
		if _, err := r.WriteObject(o.typ, o.data); err != nil {
			return err
		}
	}
	return nil
}
