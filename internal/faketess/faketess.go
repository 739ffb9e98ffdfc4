// Package faketess is a fake of the Tess AI HTTP API on 127.0.0.1 for tests and benchmarks.
// It speaks the wire formats the real API is known to use: Bearer auth, x-workspace-id,
// JSON error bodies, executions streamed as Server-Sent Events, polling of
// GET /agent-responses/{id}, GET /agents/{id}, and multipart file uploads.
//
// Tests script each execution with a Script (deltas, delays, a terminal status, a cut
// stream) and inject faults (429, 5xx, dropped connections). The Server records every
// request for assertions and is safe for concurrent use.
package faketess

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/time/rate"
)

// DefaultAPIKey is the key a Server accepts unless WithAPIKey sets another.
const DefaultAPIKey = "tess-fake-key"

// Server is a running fake Tess API.
type Server struct {
	URL         string // base URL, such as http://127.0.0.1:41234
	APIKey      string // the only Bearer token accepted
	WorkspaceID string // when not empty, x-workspace-id must carry it

	srv  *httptest.Server
	done chan struct{} // closed when the test ends, to release waiting handlers

	mu            sync.Mutex
	nextExecID    int64
	nextFileID    int64
	scripts       []Script
	defaultScript func(ExecuteRecord) Script
	execs         map[int64]*execution
	executes      []ExecuteRecord
	calls         []Call
	faults        []*Fault
	agents        map[string]Agent
	files         map[int64]*storedFile
	fileScripts   [][]string
	uploads       []Upload
	deleted       []int64
	maxFiles      int
	maxFileBytes  int64
	captureBytes  int64
	limiter       *rate.Limiter
	rateLimited   int
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey sets the Bearer token the server accepts.
func WithAPIKey(key string) Option { return func(s *Server) { s.APIKey = key } }

// WithWorkspaceID makes x-workspace-id required and equal to id. A missing header gets
// 422 and another value 403, as reported of the real API.
func WithWorkspaceID(id string) Option { return func(s *Server) { s.WorkspaceID = id } }

// WithAgent registers an agent. Once any agent is registered, other agent ids get 404.
// Without one, every id is a chat agent.
func WithAgent(a Agent) Option {
	return func(s *Server) { s.agents[strconv.FormatInt(a.ID, 10)] = a }
}

// WithDefaultScript sets the script of executions when none is queued; the default is Echo.
func WithDefaultScript(f func(ExecuteRecord) Script) Option {
	return func(s *Server) { s.defaultScript = f }
}

// WithMaxFiles makes uploads fail with 400 while n files are stored, as the real API
// limits stored files (30 per the docs).
func WithMaxFiles(n int) Option { return func(s *Server) { s.maxFiles = n } }

// WithMaxFileBytes makes uploads larger than n bytes fail with 413.
func WithMaxFileBytes(n int64) Option { return func(s *Server) { s.maxFileBytes = n } }

// WithUploadCapture keeps at most n bytes of each upload in Upload.Data; default 16 MiB.
// Size and SHA-256 are always recorded.
func WithUploadCapture(n int64) Option { return func(s *Server) { s.captureBytes = n } }

// WithRateLimit rejects requests beyond rps per second, with the given burst, across all
// routes, responding 429 with retry_after 1.
func WithRateLimit(rps float64, burst int) Option {
	return func(s *Server) { s.limiter = rate.NewLimiter(rate.Limit(rps), burst) }
}

// New starts a Server on 127.0.0.1 and closes it when t ends.
func New(t testing.TB, opts ...Option) *Server {
	s := &Server{
		APIKey:        DefaultAPIKey,
		done:          make(chan struct{}),
		nextExecID:    1000,
		nextFileID:    5000,
		defaultScript: Echo,
		execs:         map[int64]*execution{},
		agents:        map[string]Agent{},
		files:         map[int64]*storedFile{},
		captureBytes:  16 << 20,
	}
	for _, opt := range opts {
		opt(s)
	}
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.srv.Start()
	s.URL = s.srv.URL
	t.Cleanup(func() {
		close(s.done)
		s.srv.Close()
	})
	return s
}

// routes returns the handler of all endpoints behind the checks every call passes.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /agents/{id}/execute", s.handleExecute)
	mux.HandleFunc("GET /agents/{id}", s.handleAgent)
	mux.HandleFunc("GET /agent-responses/{id}", s.handleAgentResponse)
	mux.HandleFunc("POST /files", s.handleUpload)
	mux.HandleFunc("GET /files/{id}", s.handleFile)
	mux.HandleFunc("DELETE /files/{id}", s.handleDeleteFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not found")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if s.injectFault(w, r) || !s.authorize(w, r) || !s.allow(w) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Call is one request the server received, before any check.
type Call struct {
	Method string
	Path   string
	Header http.Header
}

func (s *Server) record(r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
	s.mu.Unlock()
}

// authorize checks the Bearer token and the workspace header.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token != s.APIKey {
		writeError(w, http.StatusForbidden, "Invalid authentication")
		return false
	}
	if s.WorkspaceID == "" {
		return true
	}
	ws := r.Header.Get("x-workspace-id")
	switch _, err := strconv.ParseInt(ws, 10, 64); {
	case ws == "":
		writeError(w, http.StatusUnprocessableEntity, "The x-workspace-id header is required.")
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "The workspace id must be an integer.")
	case ws != s.WorkspaceID:
		writeError(w, http.StatusForbidden, "You do not have access to this workspace.")
	default:
		return true
	}
	return false
}

// allow applies WithRateLimit.
func (s *Server) allow(w http.ResponseWriter) bool {
	if s.limiter == nil || s.limiter.Allow() {
		return true
	}
	s.mu.Lock()
	s.rateLimited++
	s.mu.Unlock()
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "Rate limit exceeded", "retry_after": 1})
	return false
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount returns how many requests had method and a path starting with prefix. An
// empty method or prefix matches all.
func (s *Server) CallCount(method, prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if (method == "" || c.Method == method) && strings.HasPrefix(c.Path, prefix) {
			n++
		}
	}
	return n
}

// RateLimited returns how many requests WithRateLimit rejected with 429.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited
}

// Agent is an agent served by GET /agents/{id}.
type Agent struct {
	ID        int64
	Title     string
	Type      string // chat, image, text or video
	Questions []Question
}

// Question is one input field of an agent.
type Question struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Options  []string `json:"options,omitempty"`
}

// ChatQuestions are the input fields the docs list for a chat agent.
var ChatQuestions = []Question{
	{Name: "temperature", Type: "select", Options: []string{"0", "0.25", "0.5", "0.75", "1"}},
	{Name: "model", Type: "select", Options: []string{"tess-5", "tess-6"}},
	{Name: "tools", Type: "select", Options: []string{"no-tools", "internet"}},
	{Name: "root_id", Type: "number"},
	{Name: "messages", Type: "array", Required: true},
}

// agent returns the agent id, or false when agents are registered and id is not one.
func (s *Server) agent(id string) (Agent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.agents) == 0 {
		n, _ := strconv.ParseInt(id, 10, 64)
		return Agent{ID: n, Title: "Fake agent " + id, Type: "chat", Questions: ChatQuestions}, true
	}
	a, ok := s.agents[id]
	return a, ok
}

func (s *Server) handleAgent(w http.ResponseWriter, r *http.Request) {
	a, ok := s.agent(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "Agent not found")
		return
	}
	questions := a.Questions
	if questions == nil {
		questions = []Question{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":          a.ID,
		"title":       a.Title,
		"description": "",
		"type":        a.Type,
		"active":      1,
		"visibility":  "private",
		"questions":   questions,
	})
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes the API's error body {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

// writeValidation writes the API's 400 validation body.
func writeValidation(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error":    "Validation failed",
		"messages": map[string][]string{field: {msg}},
	})
}
