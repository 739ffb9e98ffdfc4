package bot

import (
	"fmt"
	"log/slog"
	"strings"
)

// accessList decides whom the bot answers, from ALLOWED_CHANNELS and ALLOWED_USERS. A nil
// set allows everyone. A message is answered only when both sets allow it. Direct
// messages are conversations too: with ALLOWED_CHANNELS set, a DM is answered only when
// its D… id is listed.
type accessList struct {
	channels map[string]bool
	users    map[string]bool
}

// Reasons for a rejection, returned by rejection.
const (
	rejectedChannel = "channel not in ALLOWED_CHANNELS"
	rejectedUser    = "user not in ALLOWED_USERS"
)

// The first letters of Slack channel ids (public, private, direct) and user ids, and how
// errors describe the ids.
const (
	channelPrefixes = "CGD"
	userPrefixes    = "UW"
	channelIDForm   = "a Slack channel id such as C0123ABCD"
	userIDForm      = "a Slack user id such as U0123ABCD"
)

// newAccessList parses the comma-separated id lists of ALLOWED_CHANNELS and ALLOWED_USERS.
func newAccessList(channels, users string) (accessList, error) {
	ch, err := parseIDSet(channels, channelPrefixes, channelIDForm)
	if err != nil {
		return accessList{}, fmt.Errorf("invalid ALLOWED_CHANNELS: %w", err)
	}
	us, err := parseIDSet(users, userPrefixes, userIDForm)
	if err != nil {
		return accessList{}, fmt.Errorf("invalid ALLOWED_USERS: %w", err)
	}
	return accessList{channels: ch, users: us}, nil
}

// rejection returns why user may not use the bot in channel, or "" when it may.
func (a accessList) rejection(channel, user string) string {
	switch {
	case a.channels != nil && !a.channels[channel]:
		return rejectedChannel
	case a.users != nil && !a.users[user]:
		return rejectedUser
	}
	return ""
}

// parseIDSet parses a comma-separated list of Slack ids whose first letter is one of
// prefixes. Spaces around ids and empty entries are ignored. It returns nil for a list
// without ids, which allows everyone.
func parseIDSet(value, prefixes, what string) (map[string]bool, error) {
	var set map[string]bool
	for _, id := range strings.Split(value, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if err := checkSlackID(id, prefixes, what); err != nil {
			return nil, err
		}
		if set == nil {
			set = make(map[string]bool)
		}
		set[id] = true
	}
	return set, nil
}

// checkSlackID checks that id looks like a Slack id: an upper-case letter from prefixes
// followed by upper-case letters and digits. Ids are not secret, so the error quotes it.
func checkSlackID(id, prefixes, what string) error {
	valid := len(id) >= 2 && strings.IndexByte(prefixes, id[0]) >= 0
	for i := 1; valid && i < len(id); i++ {
		c := id[i]
		valid = c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !valid {
		return fmt.Errorf("expected %s, got %q", what, id)
	}
	return nil
}

// Notes for a person whose message the access lists exclude, shown only to them.
const (
	channelRejectedNote = "_I am not enabled in this conversation, so I did not answer. " +
		"Ask the bot's admin if you need me here._"
	userRejectedNote = "_You are not on the list of people I answer, so I did not answer. " +
		"Ask the bot's admin for access._"
)

// rejected reports whether the access lists exclude m. A message that addressed the bot
// directly, a mention or a direct message, gets an ephemeral note with the reason. A
// thread reply without a mention is ignored without a note.
func (b *bot) rejected(m message, act action, log *slog.Logger) bool {
	reason := b.access.rejection(m.Channel, m.User)
	if reason == "" {
		return false
	}
	b.metrics.AccessRejected()
	log.Info("message rejected by access control", "user", m.User, "reason", reason)
	if act != answer {
		return true
	}
	note := userRejectedNote
	if reason == rejectedChannel {
		note = channelRejectedNote
	}
	b.postNote(m.Channel, m.User, m.ThreadTS, note, log)
	return true
}
