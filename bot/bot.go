package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

// storeFile is the name of the embedded store inside DATA_DIR.
const storeFile = "tessbot.db"

// finalWriteWindow is how long replies get, after the shutdown grace has run out and
// their Tess calls were cancelled, to show their closing note in Slack.
const finalWriteWindow = 5 * time.Second

// bot holds what every part of the event path shares.
type bot struct {
	cfg       Config
	log       *slog.Logger
	store     threadstore.Store
	tess      *tess.Client
	sched     *scheduler.Scheduler
	botUserID string
	seen      *seenSet
	threads   *threadQueues
	files     *attacher // nil in tests that build a bot without it; files are then ignored
	operations
	durability

	// turnCtx is cancelled when the shutdown grace runs out: Tess calls and turns that
	// have not started stop. writeCtx lives finalWriteWindow longer, so the replies that
	// stopped can still show a note.
	turnCtx  context.Context
	writeCtx context.Context
}

// Run starts the bot and blocks until ctx is done, then stops taking events, lets the
// replies in flight finish within cfg.ShutdownGrace, and returns. It returns an error
// when the start fails (store, Tess agent check, Slack auth.test) or when the Socket
// Mode connection fails for good.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	cfg.SlackAPIURL = withTrailingSlash(cfg.SlackAPIURL)
	if err := cfg.Validate(); err != nil {
		return err
	}

	store, err := openStore(ctx, cfg, logger.With("component", "store"))
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			logger.Error("close store failed", "err", err)
		}
	}()

	tessCfg := tess.Config{
		BaseURL:           cfg.TessAPIURL,
		APIKey:            cfg.TessAPIKey,
		WorkspaceID:       cfg.TessWorkspaceID,
		RequestsPerSecond: cfg.TessRequestsPerSecond,
		PollDeadline:      cfg.TessPollDeadline,
		Logger:            logger.With("component", "tess"),
	}
	if cfg.tessTuning != nil {
		cfg.tessTuning(&tessCfg)
	}
	tc := tess.New(tessCfg)
	defaults, err := checkAgents(ctx, tc, cfg, logger)
	if err != nil {
		return err
	}

	m := cfg.metrics
	if m == nil {
		m = metrics.New()
	}
	api := slack.New(cfg.SlackBotToken,
		slack.OptionAPIURL(cfg.SlackAPIURL),
		slack.OptionAppLevelToken(cfg.SlackAppToken),
		slack.OptionLog(slog.NewLogLogger(logger.Handler(), slog.LevelDebug)),
		slack.OptionHTTPClient(&http.Client{Transport: m.SlackTransport(nil)}),
	)
	auth, err := api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack auth.test: %w", withTokenHint(err, "SLACK_BOT_TOKEN"))
	}
	logger.Info("slack auth ok", "bot_user_id", auth.UserID, "team_id", auth.TeamID)

	b := &bot{
		cfg:       cfg,
		log:       logger,
		store:     store,
		tess:      tc,
		botUserID: auth.UserID,
		seen:      newSeenSet(store, seenTTL, logger),
	}
	b.files, err = newAttacher(api, cfg.SlackAPIURL, tc, store, cfg.fileLimits(), logger.With("component", "files"))
	if err != nil {
		return err
	}
	if err := b.initOperations(api, m, defaults); err != nil {
		return err
	}
	return b.run(ctx, api)
}

// openStore opens Redis when REDIS_URL is set, otherwise the bbolt file in DATA_DIR.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (threadstore.Store, error) {
	opts := threadstore.Options{ThreadTTL: cfg.ThreadTTL, Logger: logger, KeyPrefix: cfg.RedisKeyPrefix}
	if cfg.RedisURL != "" {
		store, err := threadstore.OpenRedis(ctx, cfg.RedisURL, opts)
		if err != nil {
			return nil, fmt.Errorf("open redis store: %w", err)
		}
		return store, nil
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create DATA_DIR: %w", err)
	}
	path := filepath.Join(cfg.DataDir, storeFile)
	store, err := threadstore.OpenBolt(path, opts)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return store, nil
}

// run connects Socket Mode and serves events until ctx is done, then shuts down.
func (b *bot) run(ctx context.Context, api *slack.Client) error {
	stopMetrics, metricsErr := b.startMetrics(ctx)
	if metricsErr != nil {
		return metricsErr
	}
	defer stopMetrics()

	turnCtx, cancelTurns := context.WithCancel(context.WithoutCancel(ctx))
	writeCtx, cancelWrites := context.WithCancel(context.WithoutCancel(ctx))
	schedCtx, cancelSched := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelTurns()
	defer cancelWrites()
	defer cancelSched()
	b.turnCtx, b.writeCtx = turnCtx, writeCtx

	schedCfg := scheduler.Config{
		UpdatesPerMinute: b.cfg.SlackUpdatesPerMinute,
		EditInterval:     b.cfg.EditInterval,
		Logger:           b.log.With("component", "scheduler"),
	}
	if b.cfg.schedulerTuning != nil {
		b.cfg.schedulerTuning(&schedCfg)
	}
	b.initDurability(&schedCfg)
	b.sched = scheduler.New(api, schedCfg)
	schedDone := make(chan error, 1)
	go func() { schedDone <- b.sched.Run(schedCtx) }()

	b.threads = newThreadQueues(b.runTurn)
	recoverCtx, stopRecovery := context.WithCancel(turnCtx)
	defer stopRecovery()
	b.startRecovery(recoverCtx)
	sm := socketmode.New(api, socketmode.OptionLog(slog.NewLogLogger(b.log.Handler(), slog.LevelDebug)))
	socketCtx, stopSocket := context.WithCancel(ctx)
	socketDone := make(chan error, 1)
	socketExited := make(chan struct{})
	go func() {
		defer close(socketExited)
		socketDone <- sm.RunContext(socketCtx)
	}()

	b.log.Info("bot started", "bot_user_id", b.botUserID)
	incoming := make(chan message, incomingBuffer)
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		b.dispatch(incoming)
	}()

	err := b.readEvents(ctx, sm, socketDone, incoming)
	if err != nil {
		b.log.Error("stopping after a socket mode failure", "err", err)
	} else {
		b.log.Info("stopping: no new events; replies in flight get the shutdown grace")
	}
	stopSocket()
	// The client closes its connection and stops once socketCtx ends; it must not outlive Run.
	<-socketExited
	stopRecovery()
	close(incoming)
	<-dispatched

	b.drain(cancelTurns, cancelWrites)
	b.retries.stop()
	b.notes.Wait()
	cancelSched()
	if serr := <-schedDone; serr != nil && !errors.Is(serr, context.Canceled) {
		b.log.Error("scheduler stopped", "err", serr)
	}
	b.log.Info("bot stopped")
	return err
}

// drain waits for the turns and recoveries in flight. After the grace period it cancels
// them, and after finalWriteWindow more it cancels their last Slack writes.
func (b *bot) drain(cancelTurns, cancelWrites context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		b.threads.wait()
		b.recoveries.Wait()
		close(done)
	}()
	if b.threads.active() > 0 {
		b.log.Info("waiting for replies in flight", "threads", b.threads.active(), "grace", b.cfg.ShutdownGrace)
	}

	grace := time.NewTimer(b.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
		return
	case <-grace.C:
	}

	b.log.Warn("shutdown grace ran out; stopping replies in flight", "threads", b.threads.active())
	cancelTurns()
	window := time.NewTimer(finalWriteWindow)
	defer window.Stop()
	select {
	case <-done:
		return
	case <-window.C:
	}
	cancelWrites()
	<-done
}

// NewLogger returns the logger that LOG_LEVEL and LOG_FORMAT of cfg select, writing to w.
func NewLogger(w io.Writer, cfg Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// slackAuthErrors are the Slack error codes that mean the token itself was rejected.
var slackAuthErrors = []string{
	"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
	"not_allowed_token_type",
}

// withTokenHint adds to err which variable to fix when Slack rejected the token itself, so
// that a start-up failure names the setting as the check command does.
func withTokenHint(err error, variable string) error {
	for _, code := range slackAuthErrors {
		if strings.Contains(err.Error(), code) {
			return fmt.Errorf("%w: Slack rejected %s, copy the token from the app's settings again", err, variable)
		}
	}
	return err
}
