package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/check"
	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

// healthTimeout bounds the store call of one health check.
const healthTimeout = 2 * time.Second

// noteTimeout bounds one chat.postEphemeral call.
const noteTimeout = 10 * time.Second

// operations holds what the bot needs to be run in production: metrics, access control,
// agents per channel with their execution defaults, Stop buttons and the Socket Mode
// state for /healthz. A bot built without it (zero values) serves every user with the
// default agent and counts nothing.
type operations struct {
	metrics       *metrics.Metrics // nil counts nothing
	api           *slack.Client    // nil skips ephemeral notes, thread reads and statuses
	access        accessList
	channelAgents channelAgents
	defaults      map[string]check.Defaults // by agent id, resolved at start
	stops         stopRegistry
	socketUp      atomic.Bool
	notes         sync.WaitGroup // ephemeral notes being posted
}

// initOperations sets up the operations of b from b.cfg, which Validate has passed.
func (b *bot) initOperations(api *slack.Client, m *metrics.Metrics, defaults map[string]check.Defaults) error {
	access, err := newAccessList(b.cfg.AllowedChannels, b.cfg.AllowedUsers)
	if err != nil {
		return err
	}
	agents, err := parseChannelAgents(b.cfg.ChannelAgents)
	if err != nil {
		return fmt.Errorf("invalid CHANNEL_AGENTS: %w", err)
	}
	b.api, b.metrics, b.defaults = api, m, defaults
	b.access, b.channelAgents = access, agents
	b.seen.metrics = m
	return nil
}

// checkAgents fetches every agent the bot calls, so that a rejected key or a wrong agent
// id stops the start instead of failing every reply; an agent that is not a chat agent
// only warns. It checks the execution defaults against each agent's questions and
// returns them spelt as each agent's options are.
func checkAgents(ctx context.Context, tc *tess.Client, cfg Config, logger *slog.Logger) (map[string]check.Defaults, error) {
	defaults := make(map[string]check.Defaults)
	for _, id := range cfg.agentIDs() {
		agent, err := tc.CheckAgent(ctx, id)
		switch {
		case errors.Is(err, tess.ErrNotChatAgent):
			logger.Warn("tess agent check", "agent_id", id, "err", err)
		case err != nil:
			return nil, err
		}
		resolved, err := check.ResolveDefaults(agent, cfg.defaults())
		if err != nil {
			return nil, fmt.Errorf("tess agent %s: %w", id, err)
		}
		defaults[id] = resolved
		logger.Info("tess agent ok",
			"agent_id", id,
			"title", agent.Title,
			"type", agent.Type,
			"defaults", resolved.String())
	}
	return defaults, nil
}

// agentFor returns the agent that replies in channel.
func (b *bot) agentFor(channel string) string {
	return b.channelAgents.agentFor(channel, b.cfg.TessAgentID)
}

// isConfiguredAgent reports whether id is TESS_AGENT_ID or an agent of CHANNEL_AGENTS.
func (b *bot) isConfiguredAgent(id string) bool {
	if id == b.cfg.TessAgentID {
		return true
	}
	for _, agent := range b.channelAgents {
		if agent == id {
			return true
		}
	}
	return false
}

// listenMetrics opens the listener of METRICS_ADDR, or returns nil when it is empty.
func (b *bot) listenMetrics() (net.Listener, error) {
	if b.cfg.metricsListener != nil {
		return b.cfg.metricsListener, nil
	}
	if b.cfg.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", b.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on METRICS_ADDR: %w", err)
	}
	return ln, nil
}

// startMetrics serves /metrics and /healthz on METRICS_ADDR, when it is set, until the
// returned function is called; that function waits for the server to stop. The server
// outlives ctx, so that it reports the shutdown too.
func (b *bot) startMetrics(ctx context.Context) (stop func(), err error) {
	ln, err := b.listenMetrics()
	if err != nil || ln == nil {
		return func() {}, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		log := b.log.With("component", "metrics")
		if err := metrics.ServeListener(ctx, ln, b.metrics.Handler(b.health), log); err != nil {
			log.Error("metrics server failed", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// health returns nil while the Socket Mode connection is up and the store responds.
func (b *bot) health() error {
	if !b.socketUp.Load() {
		return errors.New("socket mode is not connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	_, err := b.store.Thread(ctx, threadstore.ThreadKey{Channel: "healthz", ThreadTS: "0"})
	if err != nil && !errors.Is(err, threadstore.ErrNotFound) {
		b.metrics.StoreError("health")
		return fmt.Errorf("store is not responding: %w", err)
	}
	return nil
}

// postNote posts text as an ephemeral message to user in channel, inside threadTS when
// it is set, without blocking the caller. A failure is logged.
func (b *bot) postNote(channel, user, threadTS, text string, log *slog.Logger) {
	if b.api == nil {
		return
	}
	b.notes.Go(func() {
		ctx, cancel := context.WithTimeout(b.writeCtx, noteTimeout)
		defer cancel()
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if threadTS != "" {
			opts = append(opts, slack.MsgOptionTS(threadTS))
		}
		if _, err := b.api.PostEphemeralContext(ctx, channel, user, opts...); err != nil {
			log.Warn("post ephemeral note failed", "user", user, "err", err)
		}
	})
}
