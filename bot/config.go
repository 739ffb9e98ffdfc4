// Package bot is the Slack side of tessbot: it reads events from Slack over Socket Mode,
// decides which messages to answer, and streams each answer from a Tess agent into the
// message's thread.
package bot

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
)

// Config is the bot's configuration, read from environment variables by LoadConfig.
type Config struct {
	SlackBotToken string `envconfig:"SLACK_BOT_TOKEN" required:"true" secret:"true" desc:"Slack bot token (xoxb-…)"`
	SlackAppToken string `envconfig:"SLACK_APP_TOKEN" required:"true" secret:"true" desc:"Slack app-level token with connections:write (xapp-…), for Socket Mode"`
	TessAPIKey    string `envconfig:"TESS_API_KEY" required:"true" secret:"true" desc:"Tess API key"`
	TessAgentID   string `envconfig:"TESS_AGENT_ID" required:"true" desc:"id of the Tess agent that answers (the number in its dashboard URL)"`

	TessWorkspaceID string `envconfig:"TESS_WORKSPACE_ID" desc:"Tess workspace id, sent as x-workspace-id; empty sends none"`
	SlackAPIURL     string `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"base URL of the Slack Web API"`
	TessAPIURL      string `envconfig:"TESS_API_URL" default:"https://api.tess.im" desc:"base URL of the Tess API"`
	DataDir         string `envconfig:"DATA_DIR" default:"./data" desc:"directory of the embedded store (tessbot.db)"`
	RedisURL        string `envconfig:"REDIS_URL" secret:"true" desc:"redis:// or rediss:// URL of a Redis store shared by replicas; empty uses the embedded store"`
	RedisKeyPrefix  string `envconfig:"REDIS_KEY_PREFIX" default:"tessbot:" desc:"prefix of every Redis key; bots of different Slack apps that share one Redis need different prefixes"`
	LogLevel        string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string `envconfig:"LOG_FORMAT" default:"text" desc:"text or json"`

	EditInterval          time.Duration `envconfig:"EDIT_INTERVAL" default:"1s" desc:"minimum time between two edits of one Slack message"`
	SlackUpdatesPerMinute float64       `envconfig:"SLACK_UPDATES_PER_MINUTE" default:"50" desc:"chat.update calls per minute for the whole app (Slack Tier 3 is about 50)"`
	MessageLimit          int           `envconfig:"MESSAGE_LIMIT" default:"4000" desc:"maximum characters of one Slack message; longer answers continue in new messages"`
	ShutdownGrace         time.Duration `envconfig:"SHUTDOWN_GRACE" default:"30s" desc:"time that replies in flight get to finish after SIGINT or SIGTERM"`
	TessRequestsPerSecond float64       `envconfig:"TESS_REQUESTS_PER_SECOND" default:"1" desc:"Tess API requests per second for the whole bot"`
	TessPollDeadline      time.Duration `envconfig:"TESS_POLL_DEADLINE" default:"10m" desc:"how long one answer may take, streaming and polling included"`
	ThreadTTL             time.Duration `envconfig:"THREAD_TTL" default:"720h" desc:"threads unused for this long start a new Tess conversation"`

	MetricsAddr           string `envconfig:"METRICS_ADDR" desc:"address that serves /metrics and /healthz, such as :9090; empty serves neither"`
	AllowedChannels       string `envconfig:"ALLOWED_CHANNELS" desc:"comma-separated ids of the conversations the bot answers in, DMs included (C…, G…, D…); empty allows all"`
	AllowedUsers          string `envconfig:"ALLOWED_USERS" desc:"comma-separated ids of the users the bot answers (U…, W…); empty allows everyone"`
	ChannelAgents         string `envconfig:"CHANNEL_AGENTS" desc:"channel:agent pairs such as C123:456,C789:1011; the agent answers in that channel instead of TESS_AGENT_ID"`
	TessModel             string `envconfig:"TESS_MODEL" desc:"model sent with every message, one of the model options of each agent; empty uses the agent's setting"`
	TessTools             string `envconfig:"TESS_TOOLS" desc:"tools sent with every message, one of the tools options of each agent; empty uses the agent's setting"`
	TessTemperature       string `envconfig:"TESS_TEMPERATURE" desc:"temperature sent with every message, 0 to 2 and one of the temperature options of each agent; empty uses the agent's setting"`
	ThreadContextMessages int    `envconfig:"THREAD_CONTEXT_MESSAGES" default:"50" desc:"earlier thread messages read once, when the bot is first mentioned inside a thread; 0 reads none"`
	StopButton            bool   `envconfig:"STOP_BUTTON" default:"true" desc:"show a Stop button on streaming replies, which only the person who asked can press"`

	FileMaxBytes int64 `envconfig:"FILE_MAX_BYTES" default:"52428800" desc:"largest file, in bytes, that the bot downloads from Slack and sends to Tess, at most 209715200 (200 MB, the Tess limit); default 50 MB"`
	FileMaxCount int   `envconfig:"FILE_MAX_COUNT" default:"5" desc:"files of one message sent to Tess, 1 to 5 (Tess takes at most 5 per execution); further files are skipped with a note"`
	TessFileCap  int   `envconfig:"TESS_FILE_CAP" default:"20" desc:"files the bot keeps uploaded in Tess, at least FILE_MAX_COUNT; past it the least recently used are deleted (Tess keeps about 30 per account)"`

	// tessTuning and schedulerTuning, when set, adjust the settings of the Tess client and
	// of the scheduler before Run creates them. Tests use them for faster polling and
	// posting. envconfig skips unexported fields.
	tessTuning      func(*tess.Config)
	schedulerTuning func(*scheduler.Config)

	// metrics and metricsListener, when set, replace the metrics and the METRICS_ADDR
	// listener that Run creates, so that tests can read them.
	metrics         *metrics.Metrics
	metricsListener net.Listener

	// storeRetry, when set, replaces the schedule of the background retries of failed
	// store writes, so that tests need not wait seconds.
	storeRetry *retryPolicy
}

// Variable describes one environment variable of Config.
type Variable struct {
	Name        string
	Default     string // empty when the variable has none
	Required    bool
	Secret      bool // the value never appears in errors or logs
	Description string
}

// Variables lists the environment variables of Config in declaration order.
func Variables() []Variable {
	t := reflect.TypeFor[Config]()
	vars := make([]Variable, 0, t.NumField())
	for i := range t.NumField() {
		field := t.Field(i)
		if !field.IsExported() {
			continue
		}
		tag := field.Tag
		vars = append(vars, Variable{
			Name:        tag.Get("envconfig"),
			Default:     tag.Get("default"),
			Required:    tag.Get("required") == "true",
			Secret:      tag.Get("secret") == "true",
			Description: tag.Get("desc"),
		})
	}
	return vars
}

// LoadConfig reads Config from the environment and validates it. The error lists every
// missing required variable, or else the first value that does not parse, or else every
// invalid value, each with what it expects. It never contains a secret value.
func LoadConfig() (Config, error) {
	var errs []error
	for _, v := range Variables() {
		if _, ok := os.LookupEnv(v.Name); v.Required && !ok {
			errs = append(errs, fmt.Errorf("%s is missing: set it to the %s", v.Name, v.Description))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}

	var cfg Config
	if err := envconfig.Process("", &cfg); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return Config{}, parseError(pe)
		}
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	cfg.SlackAPIURL = withTrailingSlash(cfg.SlackAPIURL)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parseError rewrites an envconfig conversion error so that it names the variable and the
// expected form, without the value (envconfig's own message quotes it).
func parseError(pe *envconfig.ParseError) error {
	expect := "a valid value"
	switch pe.TypeName {
	case "time.Duration":
		expect = "a duration such as 500ms, 1s or 10m"
	case "float64":
		expect = "a number such as 1 or 0.5"
	case "int", "int64":
		expect = "an integer"
	case "bool":
		expect = "true or false"
	}
	return fmt.Errorf("invalid %s: expected %s", pe.KeyName, expect)
}

// Validate checks every field and returns all problems joined, naming each variable.
func (c Config) Validate() error {
	var errs []error
	check := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("invalid %s: %w", name, err))
		}
	}

	check("SLACK_BOT_TOKEN", checkToken(c.SlackBotToken, "xoxb-", "a Slack bot token"))
	check("SLACK_APP_TOKEN", checkToken(c.SlackAppToken, "xapp-", "a Slack app-level token"))
	check("TESS_API_KEY", checkToken(c.TessAPIKey, "", "a Tess API key"))
	check("TESS_AGENT_ID", checkID(c.TessAgentID, false))
	check("TESS_WORKSPACE_ID", checkID(c.TessWorkspaceID, true))
	check("SLACK_API_URL", checkHTTPURL(c.SlackAPIURL))
	check("TESS_API_URL", checkHTTPURL(c.TessAPIURL))
	check("DATA_DIR", checkNotEmpty(c.DataDir, "a directory path"))
	check("REDIS_URL", checkRedisURL(c.RedisURL))
	check("LOG_LEVEL", checkOneOf(c.LogLevel, "debug", "info", "warn", "error"))
	check("LOG_FORMAT", checkOneOf(c.LogFormat, "text", "json"))

	check("EDIT_INTERVAL", checkPositive(c.EditInterval))
	check("SLACK_UPDATES_PER_MINUTE", checkRate(c.SlackUpdatesPerMinute))
	check("MESSAGE_LIMIT", checkRange(c.MessageLimit, minMessageLimit, maxMessageLimit))
	check("SHUTDOWN_GRACE", checkPositive(c.ShutdownGrace))
	check("TESS_REQUESTS_PER_SECOND", checkRate(c.TessRequestsPerSecond))
	check("TESS_POLL_DEADLINE", checkPositive(c.TessPollDeadline))
	check("THREAD_TTL", checkPositive(c.ThreadTTL))
	c.validateOperations(check)
	c.validateFiles(check)
	return errors.Join(errs...)
}

// The bounds of MESSAGE_LIMIT. Below the minimum a code fence and its reopening would fill
// a whole part; Slack truncates text beyond 40,000 characters.
const (
	minMessageLimit = 200
	maxMessageLimit = 40000
)

// checkToken checks a secret. Its errors describe the expected form and never quote the value.
func checkToken(value, prefix, kind string) error {
	switch {
	case value == "":
		return fmt.Errorf("expected %s, got an empty value", kind)
	case strings.ContainsFunc(value, isSpace):
		return fmt.Errorf("expected %s without spaces or line breaks", kind)
	case prefix != "" && !strings.HasPrefix(value, prefix):
		return fmt.Errorf("expected %s starting with %s", kind, prefix)
	}
	return nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

// checkID checks a Tess id: a positive integer, or empty when optional.
func checkID(value string, optional bool) error {
	if value == "" && optional {
		return nil
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("expected a positive integer, got %q", value)
	}
	return nil
}

func checkHTTPURL(value string) error {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("expected an http or https URL, got %q", value)
	}
	return nil
}

// checkRedisURL checks an optional Redis URL. The URL may carry a password, so errors
// never quote it.
func checkRedisURL(value string) error {
	if value == "" {
		return nil
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return errors.New("expected a redis:// or rediss:// URL with a host")
	}
	return nil
}

func checkNotEmpty(value, kind string) error {
	if value == "" {
		return fmt.Errorf("expected %s, got an empty value", kind)
	}
	return nil
}

func checkOneOf(value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fmt.Errorf("expected one of %s, got %q", strings.Join(allowed, ", "), value)
}

func checkPositive(value time.Duration) error {
	if value <= 0 {
		return fmt.Errorf("expected a duration above zero, got %v", value)
	}
	return nil
}

// checkRate checks a rate: a finite number above zero (ParseFloat accepts NaN and Inf).
func checkRate(value float64) error {
	if !(value > 0) || math.IsInf(value, 0) {
		return fmt.Errorf("expected a number above zero, got %v", value)
	}
	return nil
}

func checkRange(value, low, high int) error {
	if value < low || value > high {
		return fmt.Errorf("expected an integer from %d to %d, got %d", low, high, value)
	}
	return nil
}

// withTrailingSlash returns u ending in "/": slack-go appends method names to the base URL.
func withTrailingSlash(u string) string {
	if u == "" || strings.HasSuffix(u, "/") {
		return u
	}
	return u + "/"
}
