package metrics

import (
	"net/http"
	"strings"
)

// SlackTransport returns a RoundTripper that counts every request sent through base as a
// Slack call, by method, and every HTTP 429 response as a rate-limited call. Pass it to
// slack-go with slack.OptionHTTPClient, so that the bot, the scheduler and the Socket Mode
// client are all counted. A nil base uses http.DefaultTransport.
//
// NOTE: Slack also reports rate limits as HTTP 200 with {"ok":false,"error":"ratelimited"}
// for some methods; the body is not read here, so those count as plain calls.
func (m *Metrics) SlackTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if m == nil {
		return base
	}
	return &slackTransport{base: base, m: m}
}

type slackTransport struct {
	base http.RoundTripper
	m    *Metrics
}

// RoundTrip sends req and counts it.
func (t *slackTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	t.m.SlackCall(slackMethod(req.URL.Path), resp != nil && resp.StatusCode == http.StatusTooManyRequests)
	return resp, err
}

// slackMethod returns the label of the Slack call at path: the Web API method after
// "/api/", or "download" for any other path, such as a private file URL. A method name
// with characters that Slack method names lack becomes "other", so label values stay few.
func slackMethod(path string) string {
	i := strings.LastIndex(path, "/api/")
	if i < 0 {
		return "download"
	}
	name := path[i+len("/api/"):]
	if name == "" || len(name) > 64 || strings.IndexFunc(name, notMethodRune) >= 0 {
		return "other"
	}
	return name
}

func notMethodRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_')
}
