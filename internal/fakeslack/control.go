package fakeslack

import (
	"fmt"
	"math"
	"net/url"
	"sync"
	"time"
)

// Pseudo-method names. They are not Slack methods, but calls to them are counted, limited
// and failed like Web API methods.
const (
	// MethodDownload covers downloads of private file URLs.
	MethodDownload = "download"
	// MethodResponseURL covers posts to the response_url of interactive payloads.
	MethodResponseURL = "response_url"
)

// Fault is a response injected in place of the normal one. Set either Error or Status.
type Fault struct {
	// Error is a Slack error code, sent as HTTP 200 with {"ok":false,"error":Error}.
	Error string
	// Status is an HTTP status sent instead of a JSON response.
	Status int
	// RetryAfter is sent as the Retry-After header with Status, in whole seconds rounded up.
	RetryAfter time.Duration
}

// Call is one recorded request to a method.
type Call struct {
	Method string
	// Form contains the request's form or JSON fields without the token.
	Form url.Values
	At   time.Time
	// Status is the HTTP status of the response.
	Status int
	// Error is the Slack error code of an ok:false response, or "ratelimited" for a 429.
	Error string
}

// Counter contains the totals of one method.
type Counter struct {
	Calls       int // every request, including rejected ones
	RateLimited int // rejected with 429 by the token bucket
	Faults      int // given an injected Fault
	Errors      int // given any response but success
}

type faultRun struct {
	fault Fault
	left  int
}

// method holds the controls and records of one Web API method. Each has its own lock so
// that calls to different methods do not contend.
type method struct {
	name   string
	handle handlerFunc

	mu        sync.Mutex
	perSecond float64 // zero means no limit
	burst     float64
	tokens    float64
	refilled  time.Time
	latency   time.Duration
	faults    []faultRun
	calls     []Call
	count     Counter
}

// admit applies injected faults and the token bucket to a call arriving at now. It returns
// the fault to respond with, or a positive retryAfter when the bucket is empty.
func (m *method) admit(now time.Time) (fault *Fault, retryAfter time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.faults) > 0 {
		run := &m.faults[0]
		f := run.fault
		run.left--
		if run.left <= 0 {
			m.faults = m.faults[1:]
		}
		m.count.Faults++
		return &f, 0
	}
	if m.perSecond <= 0 {
		return nil, 0
	}
	elapsed := now.Sub(m.refilled).Seconds()
	m.tokens = math.Min(m.burst, m.tokens+elapsed*m.perSecond)
	m.refilled = now
	if m.tokens >= 1 {
		m.tokens--
		return nil, 0
	}
	m.count.RateLimited++
	wait := (1 - m.tokens) / m.perSecond
	return nil, time.Duration(wait * float64(time.Second))
}

// record stores the outcome of one call.
func (m *method) record(c Call, keepLog bool) {
	m.mu.Lock()
	m.count.Calls++
	if c.Error != "" || c.Status != 200 {
		m.count.Errors++
	}
	if keepLog {
		m.calls = append(m.calls, c)
	}
	m.mu.Unlock()
}

func (m *method) setRateLimit(perMinute float64, burst int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.perSecond = perMinute / 60
	m.burst = float64(max(burst, 1))
	m.tokens = m.burst
	m.refilled = time.Now()
}

func (m *method) delay() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latency
}

func (m *method) counter() Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count
}

// method returns the controls of name and panics when the server does not serve it, since
// a limit or fault on such a name would never apply.
func (s *Server) method(name string) *method {
	m, ok := s.methods[name]
	if !ok {
		panic(fmt.Sprintf("fakeslack: method %q is not served", name))
	}
	return m
}

// SetRateLimit replaces the token bucket of method, and perMinute <= 0 removes it. The
// new bucket starts full.
func (s *Server) SetRateLimit(method string, perMinute float64, burst int) {
	s.method(method).setRateLimit(perMinute, burst)
}

// SetLatency delays every later call of method by d.
func (s *Server) SetLatency(method string, d time.Duration) {
	m := s.method(method)
	m.mu.Lock()
	m.latency = d
	m.mu.Unlock()
}

// FailNext makes the next n calls of method get f as their response. Runs queue up, so a
// second FailNext takes effect after the first is used up.
func (s *Server) FailNext(method string, n int, f Fault) {
	if n <= 0 {
		return
	}
	m := s.method(method)
	m.mu.Lock()
	m.faults = append(m.faults, faultRun{fault: f, left: n})
	m.mu.Unlock()
}

// Calls returns the recorded calls of method in arrival order. It is empty with
// WithoutCallLog and for methods the fake does not serve.
func (s *Server) Calls(method string) []Call {
	m, ok := s.methods[method]
	if !ok {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Call(nil), m.calls...)
}

// Count returns the counters of method. For a method the fake does not serve, every call
// counts as an error because it was rejected with unknown_method.
func (s *Server) Count(method string) Counter {
	if m, ok := s.methods[method]; ok {
		return m.counter()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.unknownCalls[method]
	return Counter{Calls: n, Errors: n}
}

// UnknownMethods returns the names of called Web API methods the fake does not serve, in
// the order they were first called.
func (s *Server) UnknownMethods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unknown...)
}

// retryAfterSeconds rounds d up to whole seconds, at least 1, as Retry-After carries it.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
