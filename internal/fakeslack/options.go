package fakeslack

import "time"

// Default limits of the fake. Slack documents 4,000 characters of text for chat.update and
// 12,000 for markdown_text. For chat.postMessage Slack truncates text beyond 40,000
// characters, where the fake returns msg_too_long instead.
const (
	DefaultUpdateTextLimit   = 4000
	DefaultPostTextLimit     = 40000
	DefaultMarkdownLimit     = 12000
	DefaultPingInterval      = 5 * time.Second
	DefaultRepliesLimit      = 1000
	defaultSocketWriteWindow = 10 * time.Second
)

type config struct {
	botToken, appToken              string
	teamID, botUserID, botID, appID string
	echo                            bool
	latency                         time.Duration
	pingInterval                    time.Duration
	updateTextLimit, postTextLimit  int
	repliesLimit                    int
	noCallLog                       bool
	limits                          map[string]rateLimit
}

type rateLimit struct {
	perMinute float64
	burst     int
}

func defaultConfig() config {
	return config{
		botToken:        DefaultBotToken,
		appToken:        DefaultAppToken,
		teamID:          DefaultTeamID,
		botUserID:       DefaultBotUserID,
		botID:           DefaultBotID,
		appID:           DefaultAppID,
		pingInterval:    DefaultPingInterval,
		updateTextLimit: DefaultUpdateTextLimit,
		postTextLimit:   DefaultPostTextLimit,
		repliesLimit:    DefaultRepliesLimit,
		limits:          make(map[string]rateLimit),
	}
}

// Option configures a Server in New.
type Option func(*config)

// WithTokens sets the bot token (xoxb-) and the app-level token (xapp-) the server accepts.
func WithTokens(botToken, appToken string) Option {
	return func(c *config) { c.botToken, c.appToken = botToken, appToken }
}

// WithIdentity sets the workspace id, the bot's user id, its bot id and the app id.
func WithIdentity(teamID, botUserID, botID, appID string) Option {
	return func(c *config) { c.teamID, c.botUserID, c.botID, c.appID = teamID, botUserID, botID, appID }
}

// WithRateLimit gives method a token bucket that refills perMinute tokens a minute and
// holds at most burst. Calls beyond it get HTTP 429 with Retry-After. method is a Web API
// method name such as "chat.update", or MethodDownload.
func WithRateLimit(method string, perMinute float64, burst int) Option {
	return func(c *config) { c.limits[method] = rateLimit{perMinute: perMinute, burst: burst} }
}

// WithEcho sends the bot's own posts, edits and deletions back to it as events, as SetEcho
// describes.
func WithEcho() Option {
	return func(c *config) { c.echo = true }
}

// WithLatency delays the response to every Web API call and download by d.
func WithLatency(d time.Duration) Option {
	return func(c *config) { c.latency = d }
}

// WithPingInterval sets how often the server sends WebSocket pings on each Socket Mode
// connection. slack-go v0.36.0 drops a connection that receives no ping for 30 s.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) { c.pingInterval = d }
}

// WithUpdateTextLimit sets the number of runes of text beyond which chat.update returns
// msg_too_long.
func WithUpdateTextLimit(runes int) Option {
	return func(c *config) { c.updateTextLimit = runes }
}

// WithPostTextLimit sets the number of runes of text beyond which chat.postMessage returns
// msg_too_long.
func WithPostTextLimit(runes int) Option {
	return func(c *config) { c.postTextLimit = runes }
}

// WithRepliesLimit caps the page size of conversations.replies whatever limit the caller
// asks for, as Slack does for some apps (15 messages a page).
func WithRepliesLimit(n int) Option {
	return func(c *config) { c.repliesLimit = n }
}

// WithoutCallLog keeps counters but drops the per-call records that Calls returns, to save
// memory in long benchmarks.
func WithoutCallLog() Option {
	return func(c *config) { c.noCallLog = true }
}
