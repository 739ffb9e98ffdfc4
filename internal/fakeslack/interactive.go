package fakeslack

import (
	"net/http"
	"time"
)

// BlockAction builds an interactive envelope for a click by user on the button actionID
// with value, in the message at messageTS in channel. When that message is stored, the
// payload carries it and its thread.
func (s *Server) BlockAction(user, actionID, value, channel, messageTS string) Envelope {
	s.mu.Lock()
	message := object{"type": "message", "ts": messageTS}
	if ch, ok := s.channels[channel]; ok {
		if m, ok := ch.byTS[messageTS]; ok {
			message = s.messageJSON(m)
		}
	}
	s.mu.Unlock()

	container := object{"type": "message", "message_ts": messageTS, "channel_id": channel, "is_ephemeral": false}
	if threadTS, ok := message["thread_ts"].(string); ok {
		container["thread_ts"] = threadTS
	}
	now := s.clock.next()
	payload := object{
		"type":                  "block_actions",
		"user":                  object{"id": user, "username": user, "name": user, "team_id": s.cfg.teamID},
		"api_app_id":            s.cfg.appID,
		"token":                 "fakeslack-verification-token",
		"container":             container,
		"trigger_id":            now + ".fakeslack",
		"team":                  object{"id": s.cfg.teamID, "domain": "fakeslack"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               object{"id": channel, "name": channel},
		"message":               message,
		"state":                 object{"values": object{}},
		"response_url":          s.srv.URL + "/actions/" + s.newUUID(),
		"actions": []object{{
			"action_id": actionID,
			"block_id":  "fakeslack",
			"text":      object{"type": "plain_text", "text": actionID, "emoji": true},
			"value":     value,
			"type":      "button",
			"action_ts": now,
		}},
	}
	return Envelope{Type: "interactive", EnvelopeID: s.newEnvelopeID(), Payload: mustJSON(payload)}
}

// serveResponseURL accepts posts to the response_url of interactive payloads and records
// them under MethodResponseURL.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	m := s.methods[MethodResponseURL]
	req := &apiRequest{method: MethodResponseURL, at: time.Now()}
	form, err := readForm(r)
	if err != nil {
		s.finish(w, m, req, http.StatusOK, "invalid_form_data", nil)
		return
	}
	req.form = form
	if s.applyControls(w, m, req) {
		return
	}
	s.finish(w, m, req, http.StatusOK, "", nil)
}
