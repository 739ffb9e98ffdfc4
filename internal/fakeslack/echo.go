package fakeslack

// echoPosted sends the bot's new message back as a message event, as Slack does for every
// message in a conversation the app listens to. message is the stored message's JSON.
func (s *Server) echoPosted(message object, channelID string) {
	event := make(object, len(message)+3)
	for key, value := range message {
		event[key] = value
	}
	event["channel"] = channelID
	event["channel_type"] = channelType(Msg{Channel: channelID})
	event["event_ts"] = message["ts"]
	s.Send(s.eventEnvelope(event, message["ts"].(string)))
}

// echoChanged sends a message_changed event for an edit by the bot.
func (s *Server) echoChanged(channelID string, current, previous object) {
	s.Send(s.changeEnvelope(channelID, channelType(Msg{Channel: channelID}), object{
		"subtype":          "message_changed",
		"message":          current,
		"previous_message": previous,
	}))
}

// echoDeleted sends a message_deleted event for a deletion by the bot.
func (s *Server) echoDeleted(channelID, ts string, previous object) {
	s.Send(s.changeEnvelope(channelID, channelType(Msg{Channel: channelID}), object{
		"subtype":          "message_deleted",
		"deleted_ts":       ts,
		"previous_message": previous,
	}))
}
