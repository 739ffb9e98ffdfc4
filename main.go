// Command tessbot answers Slack mentions and direct messages with a Tess AI agent. It reads
// its configuration from environment variables and connects to Slack over Socket Mode.
//
// Usage:
//
//	tessbot          run the bot until SIGINT or SIGTERM
//	tessbot check    check the Slack tokens, the Tess key, workspace and agents, then exit
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tessbot/tessbot/bot"
	"github.com/tessbot/tessbot/check"
)

// errUsage is returned for command-line arguments that tessbot does not take.
var errUsage = errors.New("usage: tessbot [check]")

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "tessbot: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run loads the configuration and runs the bot until SIGINT or SIGTERM, or runs the
// check command when args is "check".
func run(args []string) error {
	checkOnly := len(args) == 1 && args[0] == "check"
	if len(args) > 0 && !checkOnly {
		return fmt.Errorf("unknown arguments %q: %w", args, errUsage)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := bot.LoadConfig()
	if err != nil {
		return err
	}
	if checkOnly {
		return check.Command(ctx, cfg.CheckOptions(), os.Stdout)
	}
	return bot.Run(ctx, cfg, bot.NewLogger(os.Stderr, cfg))
}
