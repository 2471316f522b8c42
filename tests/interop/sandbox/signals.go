package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// Signal is one D-Bus signal emitted by jamid.
type Signal struct {
	Seq       int       // position in the instance's signal list (0-based)
	Time      time.Time // when the test process received it
	Interface string    // short manager name, e.g. "ConfigurationManager"
	Member    string    // e.g. "registrationStateChanged"
	Body      []any
}

// String renders the signal on one line: Interface.member "arg" 0 ...
func (s Signal) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s.%s", s.Time.Format("15:04:05.000"), s.Interface, s.Member)
	for _, a := range s.Body {
		switch v := a.(type) {
		case string:
			fmt.Fprintf(&b, " %q", v)
		case []byte:
			fmt.Fprintf(&b, " bytes(%d)", len(v))
		default:
			fmt.Fprintf(&b, " %v", v)
		}
	}
	return b.String()
}

// Arg returns body argument i as a string ("" if absent or not a string).
func (s Signal) Arg(i int) string {
	if i < len(s.Body) {
		if v, ok := s.Body[i].(string); ok {
			return v
		}
	}
	return ""
}

// IsSignal matches a member name (with or without "Interface.") whose first string
// arguments equal args.
func IsSignal(member string, args ...string) func(Signal) bool {
	return func(s Signal) bool {
		if member != s.Member && member != s.Interface+"."+s.Member {
			return false
		}
		for i, a := range args {
			if s.Arg(i) != a {
				return false
			}
		}
		return true
	}
}

// watchSignals subscribes to everything under /cx/ring/Ring and records it (also
// into signals.log in LogDir).
func (j *Jamid) watchSignals(conn *dbus.Conn) error {
	if err := conn.AddMatchSignal(dbus.WithMatchPathNamespace(ObjPrefix)); err != nil {
		return fmt.Errorf("AddMatch on %s: %w", j.Name, err)
	}
	j.mu.Lock()
	if j.sigFile == nil {
		f, err := os.OpenFile(filepath.Join(j.LogDir, "signals.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			j.sigFile = f
		}
	}
	j.mu.Unlock()
	ch := make(chan *dbus.Signal, 64)
	conn.Signal(ch)
	go func() {
		// ch is closed when conn is closed (Stop).
		for s := range ch {
			iface, member := s.Name, ""
			if i := strings.LastIndexByte(s.Name, '.'); i >= 0 {
				iface, member = s.Name[:i], s.Name[i+1:]
			}
			iface = strings.TrimPrefix(iface, BusName+".")
			j.mu.Lock()
			sig := Signal{Seq: len(j.signals), Time: time.Now(), Interface: iface, Member: member, Body: s.Body}
			j.signals = append(j.signals, sig)
			if j.sigFile != nil {
				fmt.Fprintln(j.sigFile, sig.String())
			}
			close(j.notify)
			j.notify = make(chan struct{})
			j.mu.Unlock()
		}
	}()
	return nil
}

// Mark is the number of signals received so far: pass it as since to WaitSignal to
// only consider signals that come after this point.
func (j *Jamid) Mark() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.signals)
}

// Signals returns the signals received from position since on.
func (j *Jamid) Signals(since int) []Signal {
	j.mu.Lock()
	defer j.mu.Unlock()
	if since > len(j.signals) {
		return nil
	}
	return append([]Signal(nil), j.signals[since:]...)
}

// changed returns a channel closed at the next signal.
func (j *Jamid) changed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.notify
}

// WaitSignal waits for the first signal at position >= since that matches. It fails
// when ctx ends (CallTimeout if ctx has no deadline) or jamid exits.
func (j *Jamid) WaitSignal(ctx context.Context, since int, match func(Signal) bool) (Signal, error) {
	ctx, cancel := withDefaultTimeout(ctx, CallTimeout)
	defer cancel()
	for {
		next := j.changed()
		for _, s := range j.Signals(since) {
			if match(s) {
				return s, nil
			}
		}
		j.mu.Lock()
		p := j.proc
		j.mu.Unlock()
		if p == nil || !p.Alive() {
			return Signal{}, fmt.Errorf("waiting for a signal on %s: %w", j.Name, j.deadErr())
		}
		select {
		case <-next:
		case <-p.Done():
		case <-ctx.Done():
			return Signal{}, fmt.Errorf("no matching signal on %s: %w", j.Name, ctx.Err())
		}
	}
}

// lastRegState is the state of the last registrationStateChanged for acc at
// position >= since ("" if none).
func (j *Jamid) lastRegState(acc string, since int) string {
	st := ""
	for _, s := range j.Signals(since) {
		if s.Member == "registrationStateChanged" && s.Arg(0) == acc {
			st = s.Arg(1)
		}
	}
	return st
}

// pause waits up to d for a signal at position >= since that matches, for jamid to
// exit, or for ctx to end (the caller then looks at ctx.Err and Running).
func (j *Jamid) pause(ctx context.Context, since int, match func(Signal) bool, d time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, _ = j.WaitSignal(wctx, since, match)
}
