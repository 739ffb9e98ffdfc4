package faketess

import (
	"net/http"
	"strings"
)

// Fault is a failure injected in place of the next matching requests. It is checked
// before authentication, so it applies whatever credentials the request carries.
type Fault struct {
	Method string // "" matches every method
	Path   string // prefix of the request path, such as "/agents/7/execute"; "" matches all
	Times  int    // how many requests it applies to; 0 means 1

	Status           int    // HTTP status of the response
	Body             string // raw body; empty gives {"error": status text, "retry_after": RetryAfter}
	RetryAfter       int    // seconds, sent as retry_after in the default body when > 0
	RetryAfterHeader string // sent as the Retry-After header when not empty
	Drop             bool   // close the connection without any response
}

// Inject queues f. Faults apply in the order they were injected.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// PendingFaults returns how many injected responses have not been used yet.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.Times
	}
	return n
}

// injectFault responds to r with the first matching fault and reports whether it did.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.takeFault(r)
	if !ok {
		return false
	}
	if f.Drop {
		panic(http.ErrAbortHandler)
	}
	if f.RetryAfterHeader != "" {
		w.Header().Set("Retry-After", f.RetryAfterHeader)
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", contentTypeOf(f.Body))
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return true
	}
	body := map[string]any{"error": http.StatusText(f.Status)}
	if f.Status == http.StatusTooManyRequests {
		body["error"] = "Rate limit exceeded"
	}
	if f.RetryAfter > 0 {
		body["retry_after"] = f.RetryAfter
	}
	writeJSON(w, f.Status, body)
	return true
}

// takeFault removes one use of the first fault that matches r.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != r.Method) || !strings.HasPrefix(r.URL.Path, f.Path) {
			continue
		}
		f.Times--
		if f.Times == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return *f, true
	}
	return Fault{}, false
}

// contentTypeOf guesses the type of an injected body: JSON, HTML or plain text.
func contentTypeOf(body string) string {
	switch t := strings.TrimSpace(body); {
	case strings.HasPrefix(t, "{") || strings.HasPrefix(t, "["):
		return "application/json"
	case strings.HasPrefix(t, "<"):
		return "text/html; charset=UTF-8"
	}
	return "text/plain; charset=utf-8"
}

// cloudflare524 is the body Cloudflare sends with HTTP 524, shortened.
const cloudflare524 = `<!DOCTYPE html><html><head>` +
	`<title>api.tess.im | 524: A timeout occurred</title></head>` +
	`<body><h1>A timeout occurred</h1><p>Error code 524</p></body></html>`

// status524 is Cloudflare's "a timeout occurred" status.
const status524 = 524
