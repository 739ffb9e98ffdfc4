package bot

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Values of the secrets in these tests. No error may contain them.
const (
	testBotToken = "xoxb-1111-secret-bot-token"
	testAppToken = "xapp-1-A1-secret-app-token"
	testTessKey  = "tess-secret-api-key-2222"
)

// setEnv clears every variable of Config, then sets the required ones to valid values
// and applies overrides. An override of "-" leaves that variable unset.
func setEnv(t *testing.T, overrides map[string]string) {
	t.Helper()
	for _, v := range Variables() {
		t.Setenv(v.Name, "") // restores the old value after the test
		os.Unsetenv(v.Name)
	}
	env := map[string]string{
		"SLACK_BOT_TOKEN": testBotToken,
		"SLACK_APP_TOKEN": testAppToken,
		"TESS_API_KEY":    testTessKey,
		"TESS_AGENT_ID":   "42",
	}
	for k, v := range overrides {
		env[k] = v
	}
	for k, v := range env {
		if v != "-" {
			t.Setenv(k, v)
		}
	}
}

// assertNoSecret fails when text contains a secret value.
func assertNoSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, testBotToken, testAppToken, testTessKey) {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("error %q contains the secret %q", text, s)
		}
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	setEnv(t, nil)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"SLACK_BOT_TOKEN", cfg.SlackBotToken, testBotToken},
		{"SLACK_APP_TOKEN", cfg.SlackAppToken, testAppToken},
		{"TESS_API_KEY", cfg.TessAPIKey, testTessKey},
		{"TESS_AGENT_ID", cfg.TessAgentID, "42"},
		{"TESS_WORKSPACE_ID", cfg.TessWorkspaceID, ""},
		{"SLACK_API_URL", cfg.SlackAPIURL, "https://slack.com/api/"},
		{"TESS_API_URL", cfg.TessAPIURL, "https://api.tess.im"},
		{"DATA_DIR", cfg.DataDir, "./data"},
		{"REDIS_URL", cfg.RedisURL, ""},
		{"REDIS_KEY_PREFIX", cfg.RedisKeyPrefix, "tessbot:"},
		{"LOG_LEVEL", cfg.LogLevel, "info"},
		{"LOG_FORMAT", cfg.LogFormat, "text"},
		{"EDIT_INTERVAL", cfg.EditInterval, time.Second},
		{"SLACK_UPDATES_PER_MINUTE", cfg.SlackUpdatesPerMinute, 50.0},
		{"MESSAGE_LIMIT", cfg.MessageLimit, 4000},
		{"SHUTDOWN_GRACE", cfg.ShutdownGrace, 30 * time.Second},
		{"TESS_REQUESTS_PER_SECOND", cfg.TessRequestsPerSecond, 1.0},
		{"TESS_POLL_DEADLINE", cfg.TessPollDeadline, 10 * time.Minute},
		{"THREAD_TTL", cfg.ThreadTTL, 720 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigValues(t *testing.T) {
	setEnv(t, map[string]string{
		"TESS_WORKSPACE_ID":        "77",
		"SLACK_API_URL":            "http://127.0.0.1:9/api",
		"TESS_API_URL":             "http://127.0.0.1:8/",
		"DATA_DIR":                 "/var/lib/tessbot",
		"REDIS_URL":                "redis://127.0.0.1:6379/0",
		"LOG_LEVEL":                "debug",
		"LOG_FORMAT":               "json",
		"EDIT_INTERVAL":            "250ms",
		"SLACK_UPDATES_PER_MINUTE": "20.5",
		"MESSAGE_LIMIT":            "3000",
		"SHUTDOWN_GRACE":           "1m",
		"TESS_REQUESTS_PER_SECOND": "0.5",
		"TESS_POLL_DEADLINE":       "90s",
		"THREAD_TTL":               "24h",
	})
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"TESS_WORKSPACE_ID", cfg.TessWorkspaceID, "77"},
		{"SLACK_API_URL gets a final slash", cfg.SlackAPIURL, "http://127.0.0.1:9/api/"},
		{"TESS_API_URL", cfg.TessAPIURL, "http://127.0.0.1:8/"},
		{"DATA_DIR", cfg.DataDir, "/var/lib/tessbot"},
		{"REDIS_URL", cfg.RedisURL, "redis://127.0.0.1:6379/0"},
		{"LOG_LEVEL", cfg.LogLevel, "debug"},
		{"LOG_FORMAT", cfg.LogFormat, "json"},
		{"EDIT_INTERVAL", cfg.EditInterval, 250 * time.Millisecond},
		{"SLACK_UPDATES_PER_MINUTE", cfg.SlackUpdatesPerMinute, 20.5},
		{"MESSAGE_LIMIT", cfg.MessageLimit, 3000},
		{"SHUTDOWN_GRACE", cfg.ShutdownGrace, time.Minute},
		{"TESS_REQUESTS_PER_SECOND", cfg.TessRequestsPerSecond, 0.5},
		{"TESS_POLL_DEADLINE", cfg.TessPollDeadline, 90 * time.Second},
		{"THREAD_TTL", cfg.ThreadTTL, 24 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigMissing(t *testing.T) {
	required := []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TESS_API_KEY", "TESS_AGENT_ID"}
	for _, name := range required {
		t.Run(name, func(t *testing.T) {
			setEnv(t, map[string]string{name: "-"})
			_, err := LoadConfig()
			if err == nil {
				t.Fatalf("LoadConfig without %s succeeded", name)
			}
			if !strings.Contains(err.Error(), name+" is missing") {
				t.Errorf("error %q does not name the missing %s", err, name)
			}
			assertNoSecret(t, err.Error())
		})
	}

	t.Run("all at once", func(t *testing.T) {
		overrides := map[string]string{}
		for _, name := range required {
			overrides[name] = "-"
		}
		setEnv(t, overrides)
		_, err := LoadConfig()
		if err == nil {
			t.Fatal("LoadConfig without any variable succeeded")
		}
		for _, name := range required {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		}
	})
}

func TestLoadConfigInvalid(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		value  string
		expect string // part of the error that names the expected form
		secret bool
	}{
		{"bot token with app prefix", "SLACK_BOT_TOKEN", "xapp-9-wrong-kind-of-token", "xoxb-", true},
		{"bot token empty", "SLACK_BOT_TOKEN", "", "empty", true},
		{"bot token with newline", "SLACK_BOT_TOKEN", "xoxb-ends-with-newline\n", "line breaks", true},
		{"app token with bot prefix", "SLACK_APP_TOKEN", "xoxb-9-wrong-kind-of-token", "xapp-", true},
		{"app token with space", "SLACK_APP_TOKEN", "xapp-has space-inside", "spaces", true},
		{"tess key empty", "TESS_API_KEY", "", "empty", true},
		{"tess key with space", "TESS_API_KEY", "Bearer tess-key-with-space", "spaces", true},
		{"agent id not a number", "TESS_AGENT_ID", "my-agent", "positive integer", false},
		{"agent id zero", "TESS_AGENT_ID", "0", "positive integer", false},
		{"agent id empty", "TESS_AGENT_ID", "", "positive integer", false},
		{"workspace id not a number", "TESS_WORKSPACE_ID", "ws-1", "positive integer", false},
		{"slack url without scheme", "SLACK_API_URL", "slack.com/api/", "http or https URL", false},
		{"slack url ftp", "SLACK_API_URL", "ftp://slack.com/api/", "http or https URL", false},
		{"slack url empty", "SLACK_API_URL", "", "http or https URL", false},
		{"tess url host and port", "TESS_API_URL", "localhost:8080", "http or https URL", false},
		{"tess url unparsable", "TESS_API_URL", "http://[::1", "http or https URL", false},
		{"data dir empty", "DATA_DIR", "", "directory path", false},
		{"redis url with http scheme", "REDIS_URL", "http://user:hunter2-secret@127.0.0.1:6379", "redis://", true},
		{"redis url without host", "REDIS_URL", "redis:/secret-path-only", "redis://", true},
		{"log level unknown", "LOG_LEVEL", "verbose", "debug, info, warn, error", false},
		{"log format unknown", "LOG_FORMAT", "xml", "text, json", false},
		{"edit interval not a duration", "EDIT_INTERVAL", "fast", "duration", false},
		{"edit interval without unit", "EDIT_INTERVAL", "5", "duration", false},
		{"edit interval zero", "EDIT_INTERVAL", "0s", "above zero", false},
		{"edit interval empty", "EDIT_INTERVAL", "", "duration", false},
		{"updates per minute zero", "SLACK_UPDATES_PER_MINUTE", "0", "above zero", false},
		{"updates per minute NaN", "SLACK_UPDATES_PER_MINUTE", "NaN", "above zero", false},
		{"updates per minute infinite", "SLACK_UPDATES_PER_MINUTE", "Inf", "above zero", false},
		{"updates per minute word", "SLACK_UPDATES_PER_MINUTE", "many", "number", false},
		{"message limit too small", "MESSAGE_LIMIT", "10", "from 200 to 40000", false},
		{"message limit too large", "MESSAGE_LIMIT", "50000", "from 200 to 40000", false},
		{"message limit word", "MESSAGE_LIMIT", "lots", "integer", false},
		{"shutdown grace negative", "SHUTDOWN_GRACE", "-1s", "above zero", false},
		{"tess rate negative", "TESS_REQUESTS_PER_SECOND", "-1", "above zero", false},
		{"poll deadline zero", "TESS_POLL_DEADLINE", "0", "above zero", false},
		{"thread ttl negative", "THREAD_TTL", "-5h", "above zero", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, map[string]string{tt.env: tt.value})
			_, err := LoadConfig()
			if err == nil {
				t.Fatalf("LoadConfig with %s=%q succeeded", tt.env, tt.value)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.env) {
				t.Errorf("error %q does not name %s", msg, tt.env)
			}
			if !strings.Contains(msg, tt.expect) {
				t.Errorf("error %q does not say it expects %q", msg, tt.expect)
			}
			if tt.secret {
				assertNoSecret(t, msg, tt.value, "hunter2")
			} else {
				assertNoSecret(t, msg)
			}
		})
	}
}

func TestLoadConfigReportsEveryInvalidVariable(t *testing.T) {
	setEnv(t, map[string]string{
		"SLACK_BOT_TOKEN": "bad-bot-token-value",
		"SLACK_APP_TOKEN": "bad-app-token-value",
		"LOG_FORMAT":      "xml",
	})
	_, err := LoadConfig()
	if err == nil {
		t.Fatal("LoadConfig succeeded")
	}
	for _, name := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "LOG_FORMAT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	assertNoSecret(t, err.Error(), "bad-bot-token-value", "bad-app-token-value")
}

func TestVariablesListsConfig(t *testing.T) {
	vars := Variables()
	var names, required, secret []string
	for _, v := range vars {
		names = append(names, v.Name)
		if v.Required {
			required = append(required, v.Name)
		}
		if v.Secret {
			secret = append(secret, v.Name)
		}
		if v.Description == "" {
			t.Errorf("%s has no description", v.Name)
		}
		if v.Required && v.Default != "" {
			t.Errorf("%s is required but has the default %q", v.Name, v.Default)
		}
	}

	want := []string{
		"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TESS_API_KEY", "TESS_AGENT_ID",
		"TESS_WORKSPACE_ID", "SLACK_API_URL", "TESS_API_URL", "DATA_DIR", "REDIS_URL",
		"REDIS_KEY_PREFIX", "LOG_LEVEL", "LOG_FORMAT", "EDIT_INTERVAL", "SLACK_UPDATES_PER_MINUTE", "MESSAGE_LIMIT",
		"SHUTDOWN_GRACE", "TESS_REQUESTS_PER_SECOND", "TESS_POLL_DEADLINE", "THREAD_TTL",
		"METRICS_ADDR", "ALLOWED_CHANNELS", "ALLOWED_USERS", "CHANNEL_AGENTS", "TESS_MODEL",
		"TESS_TOOLS", "TESS_TEMPERATURE", "THREAD_CONTEXT_MESSAGES", "STOP_BUTTON",
		"FILE_MAX_BYTES", "FILE_MAX_COUNT", "TESS_FILE_CAP",
	}
	if !slices.Equal(names, want) {
		t.Errorf("Variables names = %v, want %v", names, want)
	}
	wantRequired := []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TESS_API_KEY", "TESS_AGENT_ID"}
	if !slices.Equal(required, wantRequired) {
		t.Errorf("required = %v, want %v", required, wantRequired)
	}
	wantSecret := []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TESS_API_KEY", "REDIS_URL"}
	if !slices.Equal(secret, wantSecret) {
		t.Errorf("secret = %v, want %v", secret, wantSecret)
	}
}

func TestValidateZeroConfig(t *testing.T) {
	err := Config{}.Validate()
	if err == nil {
		t.Fatal("Validate of the zero Config succeeded")
	}
	for _, name := range []string{"SLACK_BOT_TOKEN", "TESS_AGENT_ID", "EDIT_INTERVAL", "MESSAGE_LIMIT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger(&buf, Config{LogLevel: "warn", LogFormat: "json"})
	logger.Info("hidden")
	logger.Warn("shown", "channel", "C1")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want only the warning: %s", len(lines), buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal(lines[0], &entry); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if entry["msg"] != "shown" || entry["channel"] != "C1" {
		t.Errorf("log entry = %v, want msg shown and channel C1", entry)
	}

	buf.Reset()
	NewLogger(&buf, Config{LogLevel: "debug", LogFormat: "text"}).Debug("detail")
	if !strings.Contains(buf.String(), "msg=detail") {
		t.Errorf("text log = %q, want a debug line in text format", buf.String())
	}
}

func TestLoadConfigFileLimits(t *testing.T) {
	setEnv(t, nil)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if want := (fileLimits{MaxBytes: 50 << 20, MaxCount: 5, Cap: 20}); cfg.fileLimits() != want {
		t.Errorf("default file limits = %+v, want %+v", cfg.fileLimits(), want)
	}

	setEnv(t, map[string]string{"FILE_MAX_BYTES": "1048576", "FILE_MAX_COUNT": "3", "TESS_FILE_CAP": "3"})
	cfg, err = LoadConfig()
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if want := (fileLimits{MaxBytes: 1 << 20, MaxCount: 3, Cap: 3}); cfg.fileLimits() != want {
		t.Errorf("file limits = %+v, want %+v", cfg.fileLimits(), want)
	}
}

func TestLoadConfigInvalidFileLimits(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		variable string
		expect   string
	}{
		{"max bytes zero", map[string]string{"FILE_MAX_BYTES": "0"}, "FILE_MAX_BYTES", "from 1 to 209715200"},
		{"max bytes over tess limit", map[string]string{"FILE_MAX_BYTES": "209715201"}, "FILE_MAX_BYTES", "200 MB"},
		{"max bytes with unit", map[string]string{"FILE_MAX_BYTES": "50MB"}, "FILE_MAX_BYTES", "integer"},
		{"max count zero", map[string]string{"FILE_MAX_COUNT": "0"}, "FILE_MAX_COUNT", "from 1 to 5"},
		{"max count over tess limit", map[string]string{"FILE_MAX_COUNT": "6"}, "FILE_MAX_COUNT", "from 1 to 5"},
		{"cap below count", map[string]string{"FILE_MAX_COUNT": "5", "TESS_FILE_CAP": "4"}, "TESS_FILE_CAP",
			"from FILE_MAX_COUNT (5)"},
		{"cap negative", map[string]string{"TESS_FILE_CAP": "-1"}, "TESS_FILE_CAP", "from FILE_MAX_COUNT"},
		{"cap word", map[string]string{"TESS_FILE_CAP": "many"}, "TESS_FILE_CAP", "integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			_, err := LoadConfig()
			if err == nil {
				t.Fatalf("LoadConfig with %v succeeded", tt.env)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.variable) {
				t.Errorf("error %q does not name %s", msg, tt.variable)
			}
			if !strings.Contains(msg, tt.expect) {
				t.Errorf("error %q does not say it expects %q", msg, tt.expect)
			}
		})
	}
}
