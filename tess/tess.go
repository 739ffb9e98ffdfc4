// Package tess is the client of the Tess AI HTTP API (https://api.tess.im): it runs agents
// with streamed output, polls executions, and uploads files. It is the only code that talks
// to Tess.
package tess

import (
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	BaseURL     string // default https://api.tess.im
	APIKey      string
	WorkspaceID string // sent as x-workspace-id when not empty
	UserAgent   string // default "tessbot/<module version>"

	HTTPClient        *http.Client
	RequestsPerSecond float64       // one limiter for every call of this client; default 1; +Inf for none
	PollDeadline      time.Duration // overall limit when polling an execution; default 10m
	Logger            *slog.Logger

	// Limiter, when set, replaces the limiter built from RequestsPerSecond, so that several
	// clients of one API key can share a single budget.
	Limiter *rate.Limiter

	// MaxRetries bounds the retries of one call after a 429, a 5xx or a connection error;
	// default 3, negative for none.
	MaxRetries int
	// RetryBackoff is the first wait before retrying a 5xx or a connection error. It doubles
	// on each retry up to 16 times this value, with jitter; default 500ms.
	RetryBackoff time.Duration
	// MaxRetryAfter caps the wait asked for by a 429 (retry_after or Retry-After); default 60s.
	MaxRetryAfter time.Duration

	// PollInterval is the first wait between two polls of an execution or a file. It grows
	// by half on each poll up to PollMaxInterval; defaults 1s and 10s.
	PollInterval    time.Duration
	PollMaxInterval time.Duration
	// FileDeadline is the overall limit for Tess to process an uploaded file; default 5m.
	FileDeadline time.Duration
	// StreamIdleTimeout ends a stream that has received no event for this long, after which
	// the execution is polled; default 2m. Comment lines such as keep-alives do not count.
	StreamIdleTimeout time.Duration
	// MaxFileBytes is the largest upload sent; default 200 MB, the documented Tess limit.
	MaxFileBytes int64
}

const (
	defaultBaseURL       = "https://api.tess.im"
	defaultMaxRetries    = 3
	defaultRetryBackoff  = 500 * time.Millisecond
	defaultMaxRetryAfter = 60 * time.Second
	defaultPollInterval  = time.Second
	defaultPollMax       = 10 * time.Second
	defaultPollDeadline  = 10 * time.Minute
	defaultFileDeadline  = 5 * time.Minute
	defaultStreamIdle    = 2 * time.Minute
	defaultMaxFileBytes  = 200 << 20
)

// Client calls the Tess API. It is safe for concurrent use.
type Client struct {
	cfg       Config
	baseURL   string
	userAgent string
	http      *http.Client
	limiter   *rate.Limiter
	log       *slog.Logger
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	cfg = withDefaults(cfg)
	limiter := cfg.Limiter
	if limiter == nil {
		limit := rate.Limit(cfg.RequestsPerSecond)
		if math.IsInf(cfg.RequestsPerSecond, 1) {
			limit = rate.Inf
		}
		limiter = rate.NewLimiter(limit, 1)
	}
	return &Client{
		cfg:       cfg,
		baseURL:   strings.TrimRight(cfg.BaseURL, "/"),
		userAgent: cfg.UserAgent,
		http:      cfg.HTTPClient,
		limiter:   limiter,
		log:       cfg.Logger,
	}
}

// withDefaults fills the zero fields of cfg.
func withDefaults(cfg Config) Config {
	setDefault(&cfg.BaseURL, defaultBaseURL)
	setDefault(&cfg.UserAgent, defaultUserAgent())
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RequestsPerSecond <= 0 || math.IsNaN(cfg.RequestsPerSecond) {
		cfg.RequestsPerSecond = 1
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = defaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	setDefault(&cfg.RetryBackoff, defaultRetryBackoff)
	setDefault(&cfg.MaxRetryAfter, defaultMaxRetryAfter)
	setDefault(&cfg.PollInterval, defaultPollInterval)
	setDefault(&cfg.PollMaxInterval, defaultPollMax)
	cfg.PollMaxInterval = max(cfg.PollMaxInterval, cfg.PollInterval)
	setDefault(&cfg.PollDeadline, defaultPollDeadline)
	setDefault(&cfg.FileDeadline, defaultFileDeadline)
	setDefault(&cfg.StreamIdleTimeout, defaultStreamIdle)
	setDefault(&cfg.MaxFileBytes, defaultMaxFileBytes)
	return cfg
}

// setDefault stores def in *v when *v is zero or negative.
func setDefault[T string | time.Duration | int64](v *T, def T) {
	var zero T
	if *v <= zero {
		*v = def
	}
}

// defaultUserAgent names the bot and the version of its main module.
func defaultUserAgent() string {
	version := "dev"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version = info.Main.Version
	}
	return "tessbot/" + version
}

// ExecuteRequest is one chat turn sent to POST /agents/{id}/execute.
type ExecuteRequest struct {
	AgentID     string
	Message     string  // the new user message; only this is sent when RootID is set
	RootID      int64   // conversation to continue; 0 starts a new one
	FileIDs     []int64 // uploaded, processed Tess files
	Model       string  // optional
	Tools       string  // optional
	Temperature string  // optional, "0".."2"

	// Messages, when not empty, is sent in place of Message: the whole history of a
	// conversation started again without RootID. Consecutive messages of one role are
	// merged, and a leading "system" message is sent as "developer".
	Messages []Message
}

// Message is one entry of the messages array of an execution.
type Message struct {
	Role    string `json:"role"` // user, assistant, or developer (first only)
	Content string `json:"content"`
}

// Progress is the state of a running execution, reported each time its text grows.
type Progress struct {
	ExecutionID int64
	RootID      int64
	Text        string // the whole text so far, never a delta
}

// Result is a finished execution.
type Result struct {
	ExecutionID int64
	RootID      int64
	Text        string
	Credits     float64
	Status      string
}

// Agent is the part of GET /agents/{id} the bot uses.
type Agent struct {
	ID        int64
	Title     string
	Type      string // chat, image, text or video
	Questions []Question
}

// Question is one input field of an agent.
type Question struct {
	Name     string
	Type     string
	Required bool
	Options  []string
}

// Question returns the agent's input field called name, such as "model" or "tools".
func (a *Agent) Question(name string) (Question, bool) {
	for _, q := range a.Questions {
		if q.Name == name {
			return q, true
		}
	}
	return Question{}, false
}

// File is a file stored in Tess.
type File struct {
	ID       int64
	Filename string
	Bytes    int64
	Status   string // waiting, completed, failed, ...
}
