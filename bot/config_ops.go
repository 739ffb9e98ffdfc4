package bot

import (
	"fmt"
	"net"
	"strconv"

	"github.com/tessbot/tessbot/check"
)

// maxThreadContextMessages is the largest page that conversations.replies returns.
const maxThreadContextMessages = 1000

// validateOperations checks the variables of metrics, access control, agents per channel,
// execution defaults and thread context, reporting each problem to check.
func (c Config) validateOperations(check func(name string, err error)) {
	check("METRICS_ADDR", checkListenAddr(c.MetricsAddr))
	_, err := parseIDSet(c.AllowedChannels, channelPrefixes, channelIDForm)
	check("ALLOWED_CHANNELS", err)
	_, err = parseIDSet(c.AllowedUsers, userPrefixes, userIDForm)
	check("ALLOWED_USERS", err)
	_, err = parseChannelAgents(c.ChannelAgents)
	check("CHANNEL_AGENTS", err)
	check("TESS_TEMPERATURE", checkTemperature(c.TessTemperature))
	check("THREAD_CONTEXT_MESSAGES", checkRange(c.ThreadContextMessages, 0, maxThreadContextMessages))
}

// checkListenAddr checks an optional host:port to listen on, such as ":9090".
func checkListenAddr(value string) error {
	if value == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(value)
	if err != nil {
		return fmt.Errorf("expected host:port such as :9090 or 127.0.0.1:9090, got %q", value)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("expected a port from 0 to 65535, got %q", port)
	}
	return nil
}

// checkTemperature checks an optional temperature: a number from 0 to 2. Whether the
// agent offers that value is checked at start, against the agent's questions.
func checkTemperature(value string) error {
	if value == "" {
		return nil
	}
	t, err := strconv.ParseFloat(value, 64)
	if err != nil || !(t >= 0 && t <= 2) {
		return fmt.Errorf("expected a number from 0 to 2, got %q", value)
	}
	return nil
}

// defaults returns TESS_MODEL, TESS_TOOLS and TESS_TEMPERATURE.
func (c Config) defaults() check.Defaults {
	return check.Defaults{Model: c.TessModel, Tools: c.TessTools, Temperature: c.TessTemperature}
}

// agentIDs returns every agent the bot calls: TESS_AGENT_ID first, then the agents of
// CHANNEL_AGENTS. It assumes that Validate passed.
func (c Config) agentIDs() []string {
	agents, _ := parseChannelAgents(c.ChannelAgents)
	return agents.all(c.TessAgentID)
}

// CheckOptions returns the settings that the check command verifies.
func (c Config) CheckOptions() check.Options {
	return check.Options{
		SlackAPIURL:     withTrailingSlash(c.SlackAPIURL),
		SlackBotToken:   c.SlackBotToken,
		SlackAppToken:   c.SlackAppToken,
		TessAPIURL:      c.TessAPIURL,
		TessAPIKey:      c.TessAPIKey,
		TessWorkspaceID: c.TessWorkspaceID,
		AgentIDs:        c.agentIDs(),
		Defaults:        c.defaults(),
	}
}
