package bot

import (
	"context"
	"errors"
	"strings"

	"github.com/tessbot/tessbot/tess"
)

// Texts the bot shows in Slack, in mrkdwn.
const (
	placeholderText = "_Thinking…_"
	noAnswerNote    = "_The agent finished without an answer. Try asking in other words._"
	storeReadNote   = "_⚠️ I could not load this thread's conversation, so I did not answer. " +
		"Try again in a minute._"
	shutdownNote     = "_⚠️ The bot restarted before the answer was complete. Ask again to get the rest._"
	replacedPartText = "_(The final answer is shorter; see above.)_"
	restartedNote    = "_Tess could not continue the earlier conversation of this thread, " +
		"so this answer starts a new one._"
	askNote          = "_Mention me with a question and I will answer in this thread._"
	readingFilesText = "_Reading the attached files…_"
	noFilesNote      = "_I could not read the attached files, so I did not answer. " +
		"Share them again, or write your question as text._"
)

// failureNote returns the note shown below the partial text of an answer that stopped
// with err.
func failureNote(err error) string {
	if errors.Is(err, context.Canceled) {
		return shutdownNote
	}
	return "_⚠️ The answer stopped early. " + escapeMrkdwn(tess.UserMessage(err)) + "_"
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escapeMrkdwn escapes the characters Slack reads as markup in text from elsewhere, such
// as an error message from Tess, so that it cannot mention anyone or form a link.
func escapeMrkdwn(s string) string {
	return mrkdwnEscaper.Replace(s)
}
