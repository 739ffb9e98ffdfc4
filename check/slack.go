package check

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// checkSlack verifies the bot token with auth.test and the app-level token with
// apps.connections.open. The WebSocket URL that apps.connections.open returns is not
// dialed, so no Socket Mode connection takes events away from a running bot.
func checkSlack(ctx context.Context, opts Options) []Result {
	api := slack.New(opts.SlackBotToken,
		slack.OptionAPIURL(opts.SlackAPIURL),
		slack.OptionAppLevelToken(opts.SlackAppToken),
		slack.OptionHTTPClient(opts.HTTPClient),
	)
	return []Result{checkBotToken(ctx, api, opts), checkAppToken(ctx, api, opts)}
}

func checkBotToken(ctx context.Context, api *slack.Client, opts Options) Result {
	r := Result{Name: "slack bot token (auth.test)"}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	auth, err := api.AuthTestContext(ctx)
	switch {
	case err != nil:
		r.Status, r.Detail = Failed, slackHint(err, "SLACK_BOT_TOKEN")
	case auth.BotID == "":
		r.Status = Failed
		r.Detail = fmt.Sprintf("the token belongs to user %s, not to a bot: "+
			"use the Bot User OAuth Token (xoxb-) from OAuth & Permissions", auth.UserID)
	default:
		r.Detail = fmt.Sprintf("bot user %s (%s) in team %s (%s)", auth.UserID, auth.User, auth.TeamID, auth.Team)
	}
	return r
}

func checkAppToken(ctx context.Context, api *slack.Client, opts Options) Result {
	r := Result{Name: "slack app token (apps.connections.open)"}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	_, url, err := api.StartSocketModeContext(ctx)
	switch {
	case err != nil:
		r.Status, r.Detail = Failed, slackHint(err, "SLACK_APP_TOKEN")
	case url == "":
		r.Status, r.Detail = Failed, "Slack issued no Socket Mode URL: check that Socket Mode is enabled for the app"
	default:
		r.Detail = "Socket Mode connection URL issued (not dialed)"
	}
	return r
}

// slackHint describes a failed Slack call and what to change in variable.
func slackHint(err error, variable string) string {
	var slackErr slack.SlackErrorResponse
	var rateErr *slack.RateLimitedError
	switch {
	case errors.As(err, &rateErr):
		return fmt.Sprintf("Slack is rate limiting this app (retry after %s); run the check again later",
			rateErr.RetryAfter)
	case !errors.As(err, &slackErr):
		return fmt.Sprintf("could not reach Slack: %v", err)
	}

	code := slackErr.Err
	switch code {
	case "not_authed":
		return fmt.Sprintf("%s: the token is missing", code)
	case "invalid_auth":
		return fmt.Sprintf("%s: Slack rejected the token; copy %s again from the app settings", code, variable)
	case "account_inactive", "token_revoked", "token_expired":
		return fmt.Sprintf("%s: the token is no longer valid; reinstall the app or create a new token for %s",
			code, variable)
	case "not_allowed_token_type":
		return fmt.Sprintf("%s: %s is the wrong kind of token; %s", code, variable, tokenKind(variable))
	case "missing_scope":
		msg := fmt.Sprintf("%s: the token lacks a scope", code)
		if slackErr.Needed != "" {
			msg += " (needs " + slackErr.Needed + ")"
		}
		return msg + "; " + tokenKind(variable)
	}
	return fmt.Sprintf("%s: Slack rejected the call", code)
}

// tokenKind describes the token that variable must contain.
func tokenKind(variable string) string {
	if variable == "SLACK_APP_TOKEN" {
		return "use an app-level token (xapp-) with the connections:write scope, from Basic Information"
	}
	return "use the Bot User OAuth Token (xoxb-) from OAuth & Permissions"
}
