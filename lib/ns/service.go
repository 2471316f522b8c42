package ns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Registrar is a registrar contract (spec §3): the reads the server makes
// and its one write, reserveFor. Implementations: the chain backends of this
// package (embedded dev chain, JSON-RPC node).
type Registrar interface {
	// Get reads the record of name; a free name gives a Record whose Owner
	// and Addr are zero.
	Get(ctx context.Context, name string) (Record, error)
	// NameOf is the reverse map: the name of a Jami ID, "" when it has none.
	NameOf(ctx context.Context, addr Address) (string, error)
	// Reserve submits reserveFor for r.
	Reserve(ctx context.Context, r Record) (Tx, error)
	// Records calls fn with every record on the chain, once each, in the
	// order they were registered.
	Records(ctx context.Context, fn func(Record) error) error
	// Close releases the backend (and stops an embedded chain cleanly).
	Close() error
}

// Tx is a submitted reserveFor.
type Tx interface {
	Hash() string
	// Wait blocks until the transaction is mined. The contract never
	// reverts: Applied is true only when the receipt carries its
	// PrimaryChanged event for the record's name and addr.
	Wait(ctx context.Context) (Receipt, error)
}

// Receipt is the outcome of a mined reserveFor.
type Receipt struct {
	Tx      string // transaction hash, 0x hex
	Block   uint64
	Index   uint // the transaction's index in Block
	Applied bool
}

// ErrNotFound is a lookup of a name or address that has no record.
var ErrNotFound = errors.New("not registered")

// ErrClosed is returned once the service is shutting down.
var ErrClosed = errors.New("name service is shutting down")

// TakenError is a registration refused because the name or the address is
// already registered (on-chain or in flight). The server answers 403, which
// the daemon shows as "already taken".
type TakenError struct {
	Name      string
	Owner     Address // the owner of Name (zero when the conflict is Addr)
	Addr      Address // the addr of Name, or the requested addr when it has a name
	AddrName  string  // the name the requested addr already has
	SameOwner bool    // Name belongs to the requested owner, with another addr
}

func (e *TakenError) Error() string {
	switch {
	case e.AddrName != "":
		return fmt.Sprintf("%s already has the name %q", e.Addr, e.AddrName)
	case e.SameOwner:
		return fmt.Sprintf("name %q is registered by the same owner for another Jami ID (%s)", e.Name, e.Addr)
	default:
		return fmt.Sprintf("name %q is taken (owner %s)", e.Name, e.Owner.Hex())
	}
}

// BackendError is a failure of the chain: node unreachable, out of funds, a
// transaction that did not confirm in time. The server answers 500.
type BackendError struct{ Err error }

func (e *BackendError) Error() string { return "backend: " + e.Err.Error() }
func (e *BackendError) Unwrap() error { return e.Err }

// ErrUnconfirmed is a registration submitted but not confirmed within the
// confirmation timeout. It stays in flight: a repeated request waits for it,
// a conflicting one is refused, and it is journaled once it confirms.
var ErrUnconfirmed = errors.New("registration submitted but not confirmed yet; retry later")

// Options configure a Service.
type Options struct {
	// AllowUnsigned accepts legacy registrations without key and signature.
	AllowUnsigned bool
	// Journal records every confirmed registration (nil: none).
	Journal *Journal
	// ConfirmTimeout bounds the wait for a registration's receipt; after
	// it the registration stays pending (default DefaultConfirmTimeout).
	ConfirmTimeout time.Duration
	// CacheBytes bounds the memory of the lookup cache (cache.go):
	// DefaultCacheBytes when 0; negative turns the cache off. There is no
	// cache either on a registrar that is not a ChangeFeed.
	CacheBytes int
	// CacheNotFound also caches "not registered" answers. Set it only when
	// this service is the registrar's one writer (an embedded chain not
	// exposed to others): a registration made elsewhere is seen only
	// through the change feed, later than its 200 (see cache.go).
	CacheNotFound bool
	Logger        *slog.Logger
}

// DefaultConfirmTimeout is long enough for a few blocks of a 5-s clique
// chain; the embedded chain confirms at once.
const DefaultConfirmTimeout = 60 * time.Second

// Service is the name service on a registrar: lookups, and registrations
// through one serialised pipeline (spec §6.4). Two concurrent registrations
// can therefore never both pass the conflict checks, and every answer of
// success comes after the contract's event confirmed the record (and after
// the journal has it on disk).
type Service struct {
	reg  Registrar
	opt  Options
	log  *slog.Logger
	jobs chan job
	quit chan struct{}
	ctx  context.Context // lives until Close: submissions outlive requests
	stop context.CancelFunc
	wg   sync.WaitGroup // the worker
	bg   sync.WaitGroup // waits for in-flight registrations
	feed sync.WaitGroup // the change feed of the cache

	cache *cache // nil: lookups always read the chain

	mu      sync.Mutex
	pending map[string]*inflight // by name, unconfirmed after the timeout
	closed  bool
}

type job struct {
	rec   Record
	reply chan error
}

type inflight struct {
	rec  Record
	done chan struct{}
	err  error // set before done is closed
}

// NewService starts the registration pipeline on reg. Close stops it.
func NewService(reg Registrar, opt Options) *Service {
	if opt.ConfirmTimeout <= 0 {
		opt.ConfirmTimeout = DefaultConfirmTimeout
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Service{reg: reg, opt: opt, log: opt.Logger, jobs: make(chan job), quit: make(chan struct{}),
		ctx: ctx, stop: stop, pending: map[string]*inflight{}}
	s.wg.Add(1)
	go s.worker()
	if feed, ok := reg.(ChangeFeed); ok && opt.CacheBytes >= 0 {
		if opt.CacheBytes == 0 {
			opt.CacheBytes = DefaultCacheBytes
		}
		s.cache = newCache(opt.CacheBytes, opt.CacheNotFound)
		s.feed.Add(1)
		go s.watch(feed)
	}
	return s
}

// watch follows the registrar's writes for the cache until Close. The
// cache is used from the feed's first Reset on, and emptied for good when
// the feed ends.
func (s *Service) watch(feed ChangeFeed) {
	defer s.feed.Done()
	failing := false
	err := feed.Watch(s.ctx, func(ch Change) {
		if ch.Err != nil {
			// Cached answers stay: lookups that miss need the same
			// chain, and records change only by rare owner calls.
			if !failing {
				s.log.Warn("cannot read the registrar's events; cached lookups may lag until it can", "err", ch.Err)
				failing = true
			}
			return
		}
		if failing {
			s.log.Info("reading the registrar's events again")
			failing = false
		}
		s.cache.change(ch)
	})
	s.cache.stop()
	if err != nil && s.ctx.Err() == nil {
		s.log.Warn("lookup cache off: cannot follow the registrar's events", "err", err)
	}
}

// Registrar returns the backend.
func (s *Service) Registrar() Registrar { return s.reg }

// Close stops accepting registrations, lets the one being processed finish,
// and stops the waits for unconfirmed ones. It does not close the registrar.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	s.wg.Wait() // the worker finishes its job first
	s.stop()
	s.bg.Wait()
	s.feed.Wait()
}

// Lookup returns the record of a name (lowercased first). ErrNotFound when
// the name has no address, including names that cannot exist on-chain.
func (s *Service) Lookup(ctx context.Context, name string) (Record, error) {
	e, err := s.lookupName(ctx, name)
	if err != nil {
		return Record{}, err
	}
	return e.rec, nil
}

// lookupName is Lookup with the answer's body: from the cache, else read
// from the chain and cached.
func (s *Service) lookupName(ctx context.Context, name string) (*entry, error) {
	name = CanonicalName(name)
	if !ValidName(name) {
		return nil, ErrNotFound
	}
	return s.cached(cacheKey{name: name}, func() (*entry, error) {
		r, err := s.reg.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		return nameEntry(r), nil
	})
}

// Reverse returns the name of a Jami ID.
func (s *Service) Reverse(ctx context.Context, addr Address) (string, error) {
	e, err := s.lookupAddr(ctx, addr)
	if err != nil {
		return "", err
	}
	return e.name, nil
}

func (s *Service) lookupAddr(ctx context.Context, addr Address) (*entry, error) {
	return s.cached(cacheKey{addr: addr}, func() (*entry, error) {
		n, err := s.reg.NameOf(ctx, addr)
		if err != nil {
			return nil, err
		}
		return addrEntry(addr, n), nil
	})
}

// cached answers k from the cache, or from read (the chain) and fills the
// cache with what it read.
func (s *Service) cached(k cacheKey, read func() (*entry, error)) (*entry, error) {
	var (
		e    *entry
		gen  uint64
		fill bool
	)
	if s.cache != nil {
		e, gen, fill = s.cache.get(k)
	}
	if e == nil {
		var err error
		if e, err = read(); err != nil {
			return nil, &BackendError{err}
		}
		if fill {
			s.cache.fill(e, gen)
		}
	}
	if !e.found {
		return nil, ErrNotFound
	}
	return e, nil
}

// Register checks r (CheckRecord) and registers it. It returns nil once the
// registration is confirmed on-chain and journaled, or when the same record
// (name, owner, addr) is already registered; *RequestError for a record that
// fails the checks, *TakenError for a conflict, *BackendError or
// ErrUnconfirmed otherwise.
func (s *Service) Register(ctx context.Context, r Record) error {
	if err := CheckRecord(r, s.opt.AllowUnsigned); err != nil {
		return err
	}
	j := job{rec: r, reply: make(chan error, 1)}
	select {
	case s.jobs <- j:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken by the worker the registration proceeds even if the
	// caller goes away: it must not be left half-known.
	select {
	case err := <-j.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) worker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case j := <-s.jobs:
			if err := s.apply(j.rec, j.reply); err != errDeferred {
				j.reply <- err
			}
		}
	}
}

// apply runs one registration; it is only called by the worker. When it
// must wait for an in-flight registration it returns errDeferred and
// answers reply itself later.
func (s *Service) apply(r Record, reply chan error) error {
	if err := s.checkPending(r, reply); err != nil {
		return err
	}
	cur, err := s.reg.Get(s.ctx, r.Name)
	if err != nil {
		return &BackendError{err}
	}
	if !cur.Free() {
		if cur.Owner == r.Owner && cur.Addr == r.Addr {
			// Idempotent: already there. Make sure the journal knows it
			// (it may have been mined just before a crash).
			return s.journal(cur, Receipt{})
		}
		return conflict(r, cur)
	}
	if n, err := s.reg.NameOf(s.ctx, r.Addr); err != nil {
		return &BackendError{err}
	} else if n != "" {
		return &TakenError{Name: r.Name, Addr: r.Addr, AddrName: n}
	}
	tx, err := s.reg.Reserve(s.ctx, r)
	if err != nil {
		return &BackendError{err}
	}
	s.log.Debug("reserveFor submitted", "name", r.Name, "addr", r.Addr.String(), "tx", tx.Hash())
	wctx, cancel := context.WithTimeout(s.ctx, s.opt.ConfirmTimeout)
	rc, err := tx.Wait(wctx)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			s.keepPending(r, tx)
			return ErrUnconfirmed
		}
		return &BackendError{fmt.Errorf("transaction %s: %w", tx.Hash(), err)}
	}
	return s.settle(r, rc)
}

// settle turns a mined reserveFor into the answer.
func (s *Service) settle(r Record, rc Receipt) error {
	if rc.Applied {
		s.log.Info("registered", "name", r.Name, "addr", r.Addr.String(), "owner", r.Owner.Hex(), "tx", rc.Tx, "block", rc.Block)
		s.confirmed(r, rc)
		return s.journal(r, rc)
	}
	// Mined without effect: someone else's transaction got there first
	// (only possible with a shared chain). Read again to say who.
	cur, err := s.reg.Get(s.ctx, r.Name)
	if err != nil {
		return &BackendError{err}
	}
	if !cur.Free() {
		if cur.Owner == r.Owner && cur.Addr == r.Addr {
			return s.journal(cur, rc)
		}
		return conflict(r, cur)
	}
	if n, err := s.reg.NameOf(s.ctx, r.Addr); err == nil && n != "" {
		return &TakenError{Name: r.Name, Addr: r.Addr, AddrName: n}
	}
	return &BackendError{fmt.Errorf("transaction %s was mined without effect", rc.Tx)}
}

// confirmed makes a registration confirmed at rc visible to lookups at
// once, before it is answered.
func (s *Service) confirmed(r Record, rc Receipt) {
	if s.cache != nil {
		s.cache.confirmed(r, rc)
	}
}

func (s *Service) journal(r Record, rc Receipt) error {
	if s.opt.Journal == nil {
		return nil
	}
	if err := s.opt.Journal.Append(r, rc); err != nil {
		// The chain has the record; only the recovery copy is missing.
		s.log.Error("journal", "name", r.Name, "err", err)
		return &BackendError{err}
	}
	return nil
}

func conflict(r, cur Record) error {
	return &TakenError{Name: r.Name, Owner: cur.Owner, Addr: cur.Addr, SameOwner: cur.Owner == r.Owner}
}

// checkPending compares r with the registrations still in flight.
func (s *Service) checkPending(r Record, reply chan error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pending {
		switch {
		case p.rec.Name == r.Name && p.rec.Owner == r.Owner && p.rec.Addr == r.Addr:
			// The same registration again: answer when the first one settles.
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				select {
				case <-p.done:
					reply <- p.err
				case <-s.ctx.Done():
					reply <- ErrClosed
				}
			}()
			return errDeferred
		case p.rec.Name == r.Name:
			return conflict(r, p.rec)
		case p.rec.Addr == r.Addr:
			return &TakenError{Name: r.Name, Addr: r.Addr, AddrName: p.rec.Name}
		}
	}
	return nil
}

// errDeferred tells the worker that the reply is sent later.
var errDeferred = errors.New("deferred")

// keepPending tracks a registration whose receipt did not come in time and
// keeps waiting for it in the background.
func (s *Service) keepPending(r Record, tx Tx) {
	p := &inflight{rec: r, done: make(chan struct{})}
	s.mu.Lock()
	s.pending[r.Name] = p
	s.mu.Unlock()
	s.log.Warn("registration not confirmed in time, still waiting", "name", r.Name, "tx", tx.Hash())
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		rc, err := tx.Wait(s.ctx)
		if err != nil {
			p.err = &BackendError{err}
		} else {
			p.err = s.settle(r, rc)
		}
		s.mu.Lock()
		delete(s.pending, r.Name)
		s.mu.Unlock()
		close(p.done)
	}()
}

// Recover re-applies journaled registrations that the chain lost (an
// embedded chain killed before it flushed its last blocks). A record still
// on-chain is left alone; one whose name is now held by another record is
// reported and skipped. It returns how many were re-applied.
func (s *Service) Recover(ctx context.Context, recs []Record) (int, error) {
	n := 0
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		cur, err := s.reg.Get(ctx, r.Name)
		if err != nil {
			return n, &BackendError{err}
		}
		if cur.Owner == r.Owner && cur.Addr == r.Addr {
			continue
		}
		if !cur.Free() {
			s.log.Error("journal and chain disagree: name held by another record", "name", r.Name, "journal_addr", r.Addr.String(), "chain_addr", cur.Addr.String())
			continue
		}
		tx, err := s.reg.Reserve(ctx, r)
		if err != nil {
			return n, &BackendError{err}
		}
		wctx, cancel := context.WithTimeout(ctx, s.opt.ConfirmTimeout)
		rc, err := tx.Wait(wctx)
		cancel()
		if err != nil {
			return n, &BackendError{err}
		}
		if !rc.Applied {
			s.log.Error("journal record could not be re-applied", "name", r.Name, "addr", r.Addr.String())
			continue
		}
		s.log.Warn("re-applied a journaled registration the chain had lost", "name", r.Name, "tx", rc.Tx)
		s.confirmed(r, rc)
		n++
	}
	return n, nil
}
