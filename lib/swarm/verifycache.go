package swarm

import (
	"bytes"
	"crypto/x509"
	"runtime"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// sigResult is a precomputed commit signature check: the outcome of
// VerifyCommit(raw, cert) for the certificate whose DER bytes are certRaw.
type sigResult struct {
	certRaw []byte
	err     error
}

// sigJob is one signature check for the worker pool.
type sigJob struct {
	id   plumbing.Hash
	raw  []byte
	cert *x509.Certificate
}

// precomputeSignatures checks, on runtime.GOMAXPROCS(0) workers, the
// signature of each commit against the device certificate its own tree
// holds — the certificate the rule pass uses for every commit except a
// member removal (checked against the parent's tree, which then misses this
// cache and is verified inline). The RSA checks are pure and independent,
// so they can run ahead of and in any order relative to the rule pass; only
// their results are consumed, in jamid's order, by ValidateCommit. Errors
// reading a commit or tree are ignored here: the rule pass meets and
// reports them at the right commit.
func (v *Validator) precomputeSignatures(ids []plumbing.Hash) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 1 {
		workers = 1
	}
	jobs := make(chan sigJob, workers*2)
	results := make(map[plumbing.Hash]sigResult, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				err := VerifyCommit(j.raw, j.cert)
				mu.Lock()
				results[j.id] = sigResult{certRaw: j.cert.Raw, err: err}
				mu.Unlock()
			}
		}()
	}
	// Repository reads stay on this goroutine; the workers only see the
	// immutable raw commit bytes and parsed certificates.
	for _, id := range ids {
		c, err := v.r.Commit(id)
		if err != nil {
			continue
		}
		files, err := v.files(c)
		if err != nil {
			continue
		}
		cert := v.certIn(files, DevicePath(c.AuthorDevice()))
		if cert == nil {
			continue
		}
		jobs <- sigJob{id: c.ID, raw: c.Raw, cert: cert}
	}
	close(jobs)
	wg.Wait()
	v.sigs = results
}

// verifyCommit is VerifyCommit, answered from the precomputed results when
// the same commit was checked against the same certificate bytes.
func (v *Validator) verifyCommit(c *Commit, devCert *x509.Certificate) error {
	if r, ok := v.sigs[c.ID]; ok && bytes.Equal(r.certRaw, devCert.Raw) {
		return r.err
	}
	return VerifyCommit(c.Raw, devCert)
}

// checkDeviceChain is CheckDeviceChain with its signature part memoized per
// distinct (device certificate, account certificate file) bytes: that part
// depends on nothing else, so its result cannot change between commits. The
// expiry part depends on the commit time and is evaluated every time, after
// the signature part, in CheckDeviceChain's order.
func (v *Validator) checkDeviceChain(devCert *x509.Certificate, acctData []byte, acctChain []*x509.Certificate, t time.Time) error {
	key := string(devCert.Raw) + "\x00" + string(acctData)
	err, ok := v.chains[key]
	if !ok {
		err = checkChainSignatures(devCert, acctChain)
		v.chains[key] = err
	}
	if err != nil {
		return err
	}
	return checkChainTimes(devCert, acctChain[0], t)
}
