package ns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server is the JamiNS REST API (spec §2) on a Service: the six routes the
// reference server has, with its JSON members and the status codes the
// daemon depends on (§2.6, §5).
type Server struct {
	Service       *Service
	AllowUnsigned bool
	// AccessLog receives one line per request (nil: none).
	AccessLog io.Writer
	Logger    *slog.Logger
	// ShutdownGrace bounds how long Serve waits for requests in progress
	// once its context is done (default 30 s).
	ShutdownGrace time.Duration

	logMu sync.Mutex
}

// The answers. Member order is the reference server's.
type (
	nameAnswer struct {
		Name      string `json:"name"`
		Addr      string `json:"addr"`
		PublicKey string `json:"publickey,omitempty"`
		Signature string `json:"signature,omitempty"`
	}
	publicKeyAnswer struct {
		Name      string `json:"name"`
		PublicKey string `json:"publickey"`
	}
	signatureAnswer struct {
		Name      string `json:"name"`
		Signature string `json:"signature"`
	}
	ownerAnswer struct {
		Name  string `json:"name"`
		Owner string `json:"owner"`
	}
	addrAnswer struct {
		Name string `json:"name"`
	}
	errorAnswer struct {
		Error string `json:"error"`
	}
	postAnswer struct {
		Success bool   `json:"success"`
		Error   string `json:"error,omitempty"`
	}
	// 403 bodies (§2.5 rows 9, 12, 13).
	takenAddrAnswer struct {
		Success bool   `json:"success"`
		Name    string `json:"name"`
		Addr    string `json:"addr"`
	}
	takenSameOwnerAnswer struct {
		Success bool   `json:"success"`
		Owner   string `json:"owner"`
		Addr    string `json:"addr"`
	}
	takenAnswer struct {
		Success bool   `json:"success"`
		Owner   string `json:"owner"`
	}
)

// Handler returns the HTTP handler, with the access log when configured.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// Patterns carry no method: a wrong method gets a JSON 405 from the
	// handler instead of the mux's text/plain one.
	mux.HandleFunc("/name/{name}", s.name)
	mux.HandleFunc("/name/{name}/publickey", s.nameField)
	mux.HandleFunc("/name/{name}/signature", s.nameField)
	mux.HandleFunc("/name/{name}/owner", s.nameField)
	mux.HandleFunc("/addr/{addr}", s.addr)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorAnswer{MsgNotFound})
	})
	var h http.Handler = mux
	if s.AccessLog != nil {
		h = s.accessLog(h)
	}
	return h
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// writeJSON answers with an explicit length (no chunking), as the
// reference does; the daemon's HTTP client takes the simplest path.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, errorAnswer{MsgMethodNotAllowed})
}

func isGet(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

func (s *Server) name(w http.ResponseWriter, r *http.Request) {
	switch {
	case isGet(r):
		s.lookup(w, r)
	case r.Method == http.MethodPost:
		s.register(w, r)
	default:
		methodNotAllowed(w, "GET, HEAD, POST")
	}
}

// lookup answers GET /name/{name}. The name is lowercased: the daemon of
// today sends it as typed, and it verifies the signature over the name in
// the answer, which is therefore always the stored, lowercase one.
//
// The answer of a found name is encoded once, when it enters the cache:
// this is the route the daemons call most.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	e, ok := s.find(w, r)
	if ok {
		writeBody(w, http.StatusOK, e.body, e.clen)
	}
}

// find looks the path's name up and answers the failures.
func (s *Server) find(w http.ResponseWriter, r *http.Request) (*entry, bool) {
	e, err := s.Service.lookupName(r.Context(), r.PathValue("name"))
	switch {
	case err == nil:
		return e, true
	case errors.Is(err, ErrNotFound):
		writeBody(w, http.StatusNotFound, nameNotFound, nameNotFoundLen)
	default:
		s.serverError(w, r, err, errorAnswer{MsgServerError})
	}
	return nil, false
}

// The 404 answers of lookups, encoded once.
var (
	nameNotFound    = encodeAnswer(errorAnswer{MsgNameNotFound})
	nameNotFoundLen = []string{strconv.Itoa(len(nameNotFound))}
	addrNotFound    = encodeAnswer(errorAnswer{MsgAddrNotFound})
	addrNotFoundLen = []string{strconv.Itoa(len(addrNotFound))}
)

// encodeAnswer encodes as writeJSON does (HTML-escaped, as always so far).
func encodeAnswer(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // strings only: cannot happen
		panic(err)
	}
	return b
}

// writeBody is writeJSON for an answer encoded beforehand, with its
// Content-Length value. The header values are shared, read-only slices:
// net/http only reads them, and an Add would copy (their capacity is 1).
func writeBody(w http.ResponseWriter, status int, body []byte, clen []string) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = clen
	w.WriteHeader(status)
	w.Write(body)
}

var jsonType = []string{"application/json"}

// serverError answers 500 and logs the failure, unless the failure is the
// client's own leaving: its request's context is cancelled when it closes
// the connection, and the chain call or the wait that was serving it stops
// with that error. Nothing went wrong on the server, and nobody reads the
// answer; that is logged at debug level only.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error, body any) {
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		s.logger().Debug("client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	s.logger().Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, body)
}

// nameField answers GET /name/{name}/publickey|signature|owner (unused by
// the daemons; kept for completeness, with the reference's shapes).
func (s *Server) nameField(w http.ResponseWriter, r *http.Request) {
	if !isGet(r) {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	e, ok := s.find(w, r)
	if !ok {
		return
	}
	rec := e.rec
	var a any
	switch field := r.Pattern[len("/name/{name}/"):]; field {
	case "publickey":
		if rec.PublicKey == "" {
			writeJSON(w, http.StatusNotFound, errorAnswer{MsgNameNotFound})
			return
		}
		a = publicKeyAnswer{rec.Name, rec.PublicKey}
	case "signature":
		if rec.Signature == "" {
			writeJSON(w, http.StatusNotFound, errorAnswer{MsgNameNotFound})
			return
		}
		a = signatureAnswer{rec.Name, rec.Signature}
	default:
		if rec.Owner.IsZero() {
			writeJSON(w, http.StatusNotFound, errorAnswer{MsgNameNotFound})
			return
		}
		a = ownerAnswer{rec.Name, rec.Owner.Hex()}
	}
	writeJSON(w, http.StatusOK, a)
}

// addr answers GET /addr/{addr}: the name of a Jami ID.
func (s *Server) addr(w http.ResponseWriter, r *http.Request) {
	if !isGet(r) {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	id, err := ParseJamiID(r.PathValue("addr"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, postAnswer{Error: MsgInvalidAddress})
		return
	}
	e, err := s.Service.lookupAddr(r.Context(), id)
	switch {
	case err == nil:
		writeBody(w, http.StatusOK, e.body, e.clen)
	case errors.Is(err, ErrNotFound):
		writeBody(w, http.StatusNotFound, addrNotFound, addrNotFoundLen)
	default:
		s.serverError(w, r, err, errorAnswer{MsgServerError})
	}
}

// register answers POST /name/{name}. Everything that needs no chain is
// checked here; the rest happens in the service's pipeline, which answers
// only once the chain confirmed the record.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	// The body is parsed as JSON whatever its Content-Type (the daemon
	// sends application/json; so does our client).
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, postAnswer{Error: MsgTooLarge})
			return
		}
		writeJSON(w, http.StatusBadRequest, postAnswer{Error: MsgInvalidRequest})
		return
	}
	rec, err := ParseRegistration(r.PathValue("name"), body, s.AllowUnsigned)
	if err == nil {
		err = s.Service.Register(r.Context(), rec)
	}
	var reqErr *RequestError
	var taken *TakenError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, postAnswer{Success: true})
	case errors.As(err, &reqErr):
		s.logger().Debug("registration refused", "name", r.PathValue("name"), "status", reqErr.Status, "err", reqErr.Err)
		writeJSON(w, reqErr.Status, postAnswer{Error: reqErr.Message})
	case errors.As(err, &taken):
		switch {
		case taken.AddrName != "":
			writeJSON(w, http.StatusForbidden, takenAddrAnswer{Name: taken.AddrName, Addr: taken.Addr.Hex()})
		case taken.SameOwner:
			writeJSON(w, http.StatusForbidden, takenSameOwnerAnswer{Owner: taken.Owner.Hex(), Addr: taken.Addr.Hex()})
		default:
			writeJSON(w, http.StatusForbidden, takenAnswer{Owner: taken.Owner.Hex()})
		}
	case errors.Is(err, ErrClosed):
		writeJSON(w, http.StatusServiceUnavailable, postAnswer{Error: "server shutting down"})
	default:
		s.serverError(w, r, err, postAnswer{Error: MsgServerError})
	}
}

// statusRecorder remembers what a handler answered, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	size   int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.size += n
	return n, err
}

// accessLog writes one line per request in the combined log format, plus
// the time taken.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		line := fmt.Sprintf("%s - - [%s] %q %d %d %q %q %s\n", host, start.Format("02/Jan/2006:15:04:05 -0700"),
			r.Method+" "+r.URL.RequestURI()+" "+r.Proto, rec.status, rec.size, r.Referer(), r.UserAgent(),
			time.Since(start).Round(time.Microsecond))
		s.logMu.Lock()
		io.WriteString(s.AccessLog, line)
		s.logMu.Unlock()
	})
}

// Serve answers on ln until ctx is done, then shuts down gracefully:
// the listener closes at once, requests in progress (a registration
// waiting for its receipt) get ShutdownGrace to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := s.ShutdownGrace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(<-errc, http.ErrServerClosed) && err == nil {
		return nil
	}
	if err != nil {
		srv.Close()
	}
	return err
}
