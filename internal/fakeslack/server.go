// Package fakeslack runs a fake Slack on 127.0.0.1 for tests. It serves the Web API methods
// the bot calls, private file downloads and a Socket Mode WebSocket endpoint, so that an
// unchanged slack-go client pointed at APIURL talks to it as it would to Slack:
//
//	fake := fakeslack.New(t, fakeslack.WithEcho())
//	api := slack.New(fake.BotToken(), slack.OptionAppLevelToken(fake.AppToken()),
//		slack.OptionAPIURL(fake.APIURL()))
//	// start the bot with socketmode.New(api), then:
//	fake.WaitConnections(t, 1, 10*time.Second)
//	id := fake.Send(fake.Mention("C1", "U1", "<@"+fake.BotUserID()+"> hi", "", ""))
//	fake.WaitAck(t, id, 10*time.Second)
//	fake.WaitFor(t, func(s *fakeslack.Server) bool { return len(s.BotMessages("C1")) == 1 }, 10*time.Second)
//
// Rate limits, injected faults and latency are set per method. Queries such as Messages,
// Calls and Acks read the recorded state, and Wait and WaitFor block until a condition on
// it holds, evaluated again at every change.
package fakeslack

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Default identity of the fake workspace and app. Options override each of them.
const (
	DefaultBotToken  = "xoxb-0000-fakeslack-bot"
	DefaultAppToken  = "xapp-1-A0APP-fakeslack-app"
	DefaultTeamID    = "T0TEAM"
	DefaultBotUserID = "U0BOT"
	DefaultBotID     = "B0BOT"
	DefaultAppID     = "A0APP"
)

// Server is a fake Slack workspace with one installed app. Create it with New. Every method
// is safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	apiURL string
	cfg    config

	// methods is filled by New and never changed afterwards, so lookups need no lock.
	methods map[string]*method
	echo    atomic.Bool
	clock   tsClock
	seq     atomic.Int64 // source of envelope, event, file and ticket ids

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced at every change of recorded state
	quit         chan struct{} // closed by Close, ends latency waits
	closed       bool
	channels     map[string]*channel
	ephemera     []Ephemeral
	statuses     []Status
	files        map[string]*file
	fileReqs     []FileRequest
	unknown      []string       // unserved method names in order of first call
	unknownCalls map[string]int // unserved method name → calls
	sockets
	wg sync.WaitGroup // WebSocket goroutines
}

// New starts a fake Slack on 127.0.0.1 and closes it when t's cleanup runs. It works with
// tests and benchmarks alike.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	s := &Server{
		cfg:          cfg,
		methods:      make(map[string]*method),
		changed:      make(chan struct{}),
		quit:         make(chan struct{}),
		channels:     make(map[string]*channel),
		files:        make(map[string]*file),
		unknownCalls: make(map[string]int),
	}
	s.sockets.init()
	s.echo.Store(cfg.echo)
	for name, h := range routes {
		s.methods[name] = &method{name: name, handle: h}
	}
	s.methods[MethodDownload] = &method{name: MethodDownload}
	s.methods[MethodResponseURL] = &method{name: MethodResponseURL}
	for name, lim := range cfg.limits {
		s.method(name).setRateLimit(lim.perMinute, lim.burst)
	}
	if cfg.latency > 0 {
		for _, m := range s.methods {
			m.latency = cfg.latency
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("GET /link/", s.serveSocket)
	mux.HandleFunc("GET /files-pri/{key}/", s.serveFile)
	mux.HandleFunc("POST /actions/", s.serveResponseURL)
	mux.HandleFunc("GET /{$}", s.serveSignIn)
	// The handlers read s.srv and s.apiURL, so both are set before the server serves.
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Start()
	s.apiURL = s.srv.URL + "/api/"
	t.Cleanup(s.Close)
	return s
}

// Close closes every Socket Mode connection and stops the server. It is safe to call more
// than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.quit)
	conns := append([]*conn(nil), s.conns...)
	s.mu.Unlock()

	for _, c := range conns {
		c.closeWithFrame()
	}
	s.wg.Wait()
	s.srv.Close()
}

// URL returns the base URL of the server, "http://127.0.0.1:port" without a final slash.
func (s *Server) URL() string { return s.srv.URL }

// APIURL returns the Web API base for slack.OptionAPIURL. It ends with "/api/".
func (s *Server) APIURL() string { return s.apiURL }

// BotToken returns the xoxb- token that Web API methods and downloads accept.
func (s *Server) BotToken() string { return s.cfg.botToken }

// AppToken returns the xapp- token that apps.connections.open accepts.
func (s *Server) AppToken() string { return s.cfg.appToken }

// TeamID returns the id of the fake workspace.
func (s *Server) TeamID() string { return s.cfg.teamID }

// BotUserID returns the user id of the bot, as auth.test reports it.
func (s *Server) BotUserID() string { return s.cfg.botUserID }

// BotID returns the bot id carried by the bot's own messages.
func (s *Server) BotID() string { return s.cfg.botID }

// AppID returns the app id sent in hello envelopes and event payloads.
func (s *Server) AppID() string { return s.cfg.appID }

// SetEcho turns echo on or off. With echo on, every message the bot posts, edits or deletes
// comes back to it over Socket Mode as Slack sends it: a message event carrying the bot's
// user and bot_id, message_changed or message_deleted.
func (s *Server) SetEcho(on bool) { s.echo.Store(on) }

// Changed returns a channel that is closed at the next change of recorded state: a Web API
// call, a stored message, a connection, a delivery or an ack.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// notifyLocked wakes every waiter. The caller holds s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) notify() {
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()
}

// Wait blocks until cond returns true or ctx is done. It evaluates cond once at the start
// and again after every change, never while holding a lock, so cond may call any method of
// s. It returns ctx.Err() when ctx ends first.
func (s *Server) Wait(ctx context.Context, cond func(*Server) bool) error {
	for {
		changed := s.Changed()
		if cond(s) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFor waits until cond returns true and fails the test with a summary of the recorded
// state when timeout passes first. Call it from the test's goroutine.
func (s *Server) WaitFor(t testing.TB, cond func(*Server) bool, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Wait(ctx, cond); err != nil {
		t.Fatalf("fakeslack: condition not met within %v; state: %s", timeout, s.Summary())
	}
}

// Summary returns a one-line description of the recorded state for failure messages:
// connections, acks, undelivered envelopes and the counters of every called method.
func (s *Server) Summary() string {
	var b strings.Builder
	s.mu.Lock()
	fmt.Fprintf(&b, "connections=%d acks=%d pending=%d", s.activeCountLocked(), len(s.acks), len(s.pending))
	if len(s.unknown) > 0 {
		fmt.Fprintf(&b, " unknown_methods=%v", s.unknown)
	}
	s.mu.Unlock()

	names := make([]string, 0, len(s.methods))
	for name := range s.methods {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := s.methods[name].counter()
		if c.Calls == 0 {
			continue
		}
		fmt.Fprintf(&b, " %s=%d", name, c.Calls)
		if c.RateLimited > 0 || c.Errors > 0 {
			fmt.Fprintf(&b, "(429:%d errors:%d)", c.RateLimited, c.Errors)
		}
	}
	return b.String()
}

// nextID returns a number for a new id, unique within one Server.
func (s *Server) nextID() int64 { return s.seq.Add(1) }
