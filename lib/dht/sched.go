package dht

import (
	"math"
	"time"
)

// ticks is a monotonic instant in nanoseconds since the process started.
// Engine state keeps ticks rather than time.Time: 8 bytes instead of 24,
// which matters for the per-value and per-node memory budget.
type ticks int64

const (
	// tMin and tMax play the roles of OpenDHT's time_point::min() ("never")
	// and time_point::max() ("not scheduled"); they leave room for
	// arithmetic without overflow.
	tMin ticks = math.MinInt64 / 4
	tMax ticks = math.MaxInt64 / 4
)

var epoch = time.Now()

func monoNow() ticks { return ticks(time.Since(epoch)) }

func (t ticks) add(d time.Duration) ticks {
	if t <= tMin || t >= tMax {
		return t
	}
	return t + ticks(d)
}

func (t ticks) sub(d time.Duration) ticks { return t.add(-d) }

// wall converts t to wall-clock time.
func (t ticks) wall() time.Time { return epoch.Add(time.Duration(t)) }

// job is a scheduled call. A job stays valid after it ran or was
// cancelled and can be rescheduled with edit (OpenDHT's Scheduler::Job).
type job struct {
	at  ticks
	idx int // position in the heap, -1 when not scheduled
	fn  func()
}

// scheduler is a min-heap of jobs run by the engine goroutine
// (OpenDHT's Scheduler). Jobs at tMax are kept out of the heap.
type scheduler struct {
	h []*job
}

func (s *scheduler) add(at ticks, fn func()) *job {
	j := &job{at: at, idx: -1, fn: fn}
	if at < tMax {
		s.push(j)
	}
	return j
}

// edit reschedules j at at (tMax unschedules it).
func (s *scheduler) edit(j *job, at ticks) {
	if j == nil {
		return
	}
	j.at = at
	switch {
	case j.idx >= 0 && at >= tMax:
		s.remove(j)
	case j.idx >= 0:
		s.fix(j.idx)
	case at < tMax:
		s.push(j)
	}
}

func (s *scheduler) cancel(j *job) {
	if j != nil && j.idx >= 0 {
		s.remove(j)
	}
}

// next returns the time of the earliest job, or tMax.
func (s *scheduler) next() ticks {
	if len(s.h) == 0 {
		return tMax
	}
	return s.h[0].at
}

// pop removes and returns the earliest job due at now, or nil.
func (s *scheduler) pop(now ticks) *job {
	if len(s.h) == 0 || s.h[0].at > now {
		return nil
	}
	j := s.h[0]
	s.remove(j)
	return j
}

func (s *scheduler) push(j *job) {
	j.idx = len(s.h)
	s.h = append(s.h, j)
	s.up(j.idx)
}

func (s *scheduler) remove(j *job) {
	i := j.idx
	last := len(s.h) - 1
	if i != last {
		s.swap(i, last)
	}
	s.h[last] = nil
	s.h = s.h[:last]
	j.idx = -1
	if i != last {
		s.fix(i)
	}
}

func (s *scheduler) fix(i int) {
	if !s.down(i) {
		s.up(i)
	}
}

func (s *scheduler) less(i, j int) bool { return s.h[i].at < s.h[j].at }

func (s *scheduler) swap(i, j int) {
	s.h[i], s.h[j] = s.h[j], s.h[i]
	s.h[i].idx = i
	s.h[j].idx = j
}

func (s *scheduler) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *scheduler) down(i int) bool {
	start := i
	n := len(s.h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s.swap(i, m)
		i = m
	}
	return i > start
}
