package bot

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// channelAgents is the parsed CHANNEL_AGENTS: the Tess agent that replies in each listed
// channel, in place of the default agent.
type channelAgents map[string]string

// parseChannelAgents parses CHANNEL_AGENTS, a comma-separated list of channel:agent pairs
// such as "C123:456,C789:1011". A channel may appear only once.
func parseChannelAgents(value string) (channelAgents, error) {
	agents := channelAgents{}
	for _, entry := range strings.Split(value, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		channel, agent, ok := strings.Cut(entry, ":")
		channel, agent = strings.TrimSpace(channel), strings.TrimSpace(agent)
		if !ok {
			return nil, fmt.Errorf("expected channel:agent pairs such as C0123ABCD:456, got %q", entry)
		}
		if err := checkSlackID(channel, channelPrefixes, channelIDForm); err != nil {
			return nil, fmt.Errorf("entry %q: %w", entry, err)
		}
		if err := checkID(agent, false); err != nil {
			return nil, fmt.Errorf("entry %q: agent id: %w", entry, err)
		}
		if _, dup := agents[channel]; dup {
			return nil, fmt.Errorf("channel %s is listed twice", channel)
		}
		agents[channel] = agent
	}
	return agents, nil
}

// agentFor returns the agent that replies in channel: its CHANNEL_AGENTS entry, or
// defaultAgent.
func (c channelAgents) agentFor(channel, defaultAgent string) string {
	if agent, ok := c[channel]; ok {
		return agent
	}
	return defaultAgent
}

// all returns every agent the bot may call: defaultAgent first, then the channel agents
// in ascending order, each once.
func (c channelAgents) all(defaultAgent string) []string {
	ids := []string{defaultAgent}
	var others []string
	for _, agent := range c {
		if agent != defaultAgent && !slices.Contains(others, agent) {
			others = append(others, agent)
		}
	}
	slices.SortFunc(others, compareIDs)
	return append(ids, others...)
}

// compareIDs orders agent ids, which parseChannelAgents checked are decimal, by value.
func compareIDs(a, b string) int {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return cmp.Or(cmp.Compare(x, y), strings.Compare(a, b))
}
