// Package check verifies the bot's credentials and agent settings without starting the
// bot: the Slack bot and app-level tokens, the Tess API key, the workspace, and each agent
// with the model, tools and temperature defaults. It backs the `tessbot check` command.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ErrFailed is returned by Command when at least one check failed.
var ErrFailed = errors.New("check failed")

// defaultTimeout bounds each check that calls Slack or Tess.
const defaultTimeout = 20 * time.Second

// Options contains the settings that the checks verify.
type Options struct {
	SlackAPIURL   string // base of the Slack Web API, ending in "/"
	SlackBotToken string
	SlackAppToken string

	TessAPIURL      string
	TessAPIKey      string
	TessWorkspaceID string // empty sends no x-workspace-id
	// AgentIDs lists every agent the bot uses: the default agent first, then the agents
	// of CHANNEL_AGENTS. Each id is checked once.
	AgentIDs []string
	Defaults Defaults

	HTTPClient *http.Client  // optional; default http.DefaultClient
	Timeout    time.Duration // limit of each check; default 20s
}

// Status is the outcome of one check.
type Status int

const (
	// OK means the check passed.
	OK Status = iota
	// Failed means the check found a problem.
	Failed
	// Skipped means the check did not run because a check it depends on failed.
	Skipped
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Failed:
		return "FAILED"
	}
	return "skipped"
}

// Result is the outcome of one check with a short reason.
type Result struct {
	Name   string
	Status Status
	Detail string
}

// Run runs every check and returns their results in order. It never returns early: a
// failed Slack check does not stop the Tess checks.
func Run(ctx context.Context, opts Options) []Result {
	opts = opts.withDefaults()
	redact := secretRedactor(opts.SlackBotToken, opts.SlackAppToken, opts.TessAPIKey)

	var results []Result
	results = append(results, checkSlack(ctx, opts)...)
	results = append(results, checkTess(ctx, opts)...)
	for i := range results {
		results[i].Detail = redact(results[i].Detail)
	}
	return results
}

// Print writes one line per result, "ok", "FAILED" or "skipped" followed by the name and
// the reason, and returns the number of failed checks.
func Print(w io.Writer, results []Result) int {
	failed := 0
	for _, r := range results {
		if r.Status == Failed {
			failed++
		}
		fmt.Fprintf(w, "%-7s  %s: %s\n", r.Status, r.Name, r.Detail)
	}
	return failed
}

// Command runs the checks, prints them to w, and returns an error wrapping ErrFailed
// when any failed.
func Command(ctx context.Context, opts Options, w io.Writer) error {
	results := Run(ctx, opts)
	if failed := Print(w, results); failed > 0 {
		return fmt.Errorf("%w: %d of %d checks", ErrFailed, failed, len(results))
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	var ids []string
	for _, id := range o.AgentIDs {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	o.AgentIDs = ids
	return o
}

// secretRedactor returns a function that replaces each non-empty secret in a text, in case
// an error from a library quotes one.
func secretRedactor(secrets ...string) func(string) string {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, "[redacted]")
		}
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	return strings.NewReplacer(pairs...).Replace
}
