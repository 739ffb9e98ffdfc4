package tess

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Errors a caller can match with errors.Is.
var (
	// ErrTimeout means an execution or a file upload was still running at its deadline
	// (Config.PollDeadline or Config.FileDeadline).
	ErrTimeout = errors.New("still running at the deadline")
	// ErrFileTooLarge means a file was not sent because it exceeds Config.MaxFileBytes.
	ErrFileTooLarge = errors.New("file exceeds the upload limit")
	// ErrFileFailed means Tess could not process an uploaded file.
	ErrFileFailed = errors.New("file processing failed")
	// ErrNotChatAgent is returned, wrapped and together with the agent, by CheckAgent for an
	// agent whose type is not chat. The bot can run, but Tess may reject its messages.
	ErrNotChatAgent = errors.New("agent is not a chat agent")
)

// APIError is an HTTP response outside 2xx from the Tess API.
type APIError struct {
	Method     string
	Path       string // the request path, such as /agents/7/execute
	StatusCode int
	Message    string              // the API's "error" text; empty when the body had none
	Messages   map[string][]string // validation messages by field; "" collects unnamed ones
	RetryAfter time.Duration       // from retry_after in the body or Retry-After; 0 when absent
}

// Error describes the failed call with its status and the API's messages.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tess: %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if v := e.validation(); v != "" {
		b.WriteString(" (")
		b.WriteString(v)
		b.WriteString(")")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

// validation joins the validation messages in field order.
func (e *APIError) validation() string {
	fields := make([]string, 0, len(e.Messages))
	for f := range e.Messages {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	var parts []string
	for _, f := range fields {
		for _, m := range e.Messages[f] {
			if f == "" {
				parts = append(parts, m)
			} else {
				parts = append(parts, f+": "+m)
			}
		}
	}
	return strings.Join(parts, "; ")
}

// errorKind groups HTTP error responses by what a person has to do about them.
type errorKind int

const (
	kindOther errorKind = iota
	kindAuth
	kindWorkspace
	kindNotFound
	kindTooLarge
	kindInvalid
	kindRateLimited
	kindServer
)

// kind classifies e. Tess reports a wrong workspace as 403, 404 or 422 with "workspace" in
// the text, so the text is checked before the status.
func (e *APIError) kind() errorKind {
	mentionsWorkspace := strings.Contains(strings.ToLower(e.Message+" "+e.validation()), "workspace")
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		return kindRateLimited
	case e.StatusCode >= 500:
		return kindServer
	case e.StatusCode == http.StatusRequestEntityTooLarge:
		return kindTooLarge
	case mentionsWorkspace && (e.StatusCode == 400 || e.StatusCode == 403 ||
		e.StatusCode == 404 || e.StatusCode == 422):
		return kindWorkspace
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return kindAuth
	case e.StatusCode == http.StatusNotFound:
		return kindNotFound
	case e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity:
		return kindInvalid
	}
	return kindOther
}

// UserMessage returns a sentence for a Slack user that says what failed and what to do.
func (e *APIError) UserMessage() string {
	switch e.kind() {
	case kindAuth:
		return "The Tess API key was rejected. Ask the bot's admin to check its Tess API key."
	case kindWorkspace:
		return "Tess rejected the workspace id. Ask the bot's admin to check the Tess workspace id."
	case kindNotFound:
		return "Tess could not find the agent or the conversation. " +
			"Ask the bot's admin to check the agent id and workspace id."
	case kindTooLarge:
		return "The file is too large for Tess. Send a file under 200 MB."
	case kindInvalid:
		msg := "Tess rejected the request as invalid"
		if detail := e.detail(); detail != "" {
			msg += ": " + detail
		}
		return msg + "."
	case kindRateLimited:
		return "Tess is receiving too many requests. Try again in a minute."
	case kindServer:
		return fmt.Sprintf("Tess is having trouble (HTTP %d). Try again in a few minutes.", e.StatusCode)
	}
	return fmt.Sprintf("The call to Tess failed (HTTP %d). Try again later.", e.StatusCode)
}

// detail returns the most specific text of e, shortened for a chat message.
func (e *APIError) detail() string {
	text := e.validation()
	if text == "" {
		text = e.Message
	}
	return truncate(strings.TrimRight(text, ". "), 300)
}

// ExecutionError is an execution that ended with a failure status.
type ExecutionError struct {
	ExecutionID int64
	RootID      int64
	Status      string // failed, error, canceled or cancelled
	Message     string // the execution's "error" text
}

// Error describes the failed execution.
func (e *ExecutionError) Error() string {
	msg := fmt.Sprintf("tess: execution %d ended with status %q", e.ExecutionID, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// UserMessage returns a sentence for a Slack user that says what failed.
func (e *ExecutionError) UserMessage() string {
	if s := strings.ToLower(e.Status); s == "canceled" || s == "cancelled" {
		return "The Tess execution was canceled before it finished."
	}
	if e.Message == "" {
		return "Tess could not finish the answer. Try again."
	}
	return "Tess could not finish the answer: " + truncate(strings.TrimRight(e.Message, ". "), 300) + "."
}

// UserMessage returns a sentence for a Slack user about err, an error from this package.
func UserMessage(err error) string {
	var apiErr *APIError
	var execErr *ExecutionError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &apiErr):
		return apiErr.UserMessage()
	case errors.As(err, &execErr):
		return execErr.UserMessage()
	case errors.Is(err, ErrFileTooLarge):
		return "The file is too large for Tess. Send a file under 200 MB."
	case errors.Is(err, ErrFileFailed):
		return "Tess could not read the file. Check that it opens, or send it in another format."
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "Tess took too long to answer. Try again, or ask a shorter question."
	case errors.Is(err, context.Canceled):
		return "The request to Tess was stopped."
	}
	return "The bot could not reach Tess. Try again in a few minutes."
}

// transientError is a failure worth retrying: a connection error or a stream that ended
// before its first event.
type transientError struct {
	err error
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// truncate shortens s to at most n bytes without cutting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
