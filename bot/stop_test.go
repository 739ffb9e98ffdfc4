package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestStopRegistry(t *testing.T) {
	var reg stopRegistry
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	remove := reg.add(stopID("C1", "1.1"), "U1", cancel)

	if got := reg.stop(stopID("C1", "1.1"), "U2"); got != stopNotOwner {
		t.Errorf("stop by another user = %v, want stopNotOwner", got)
	}
	if ctx.Err() != nil {
		t.Fatal("another user's stop cancelled the reply")
	}
	if got := reg.stop(stopID("C1", "9.9"), "U1"); got != stopNotFound {
		t.Errorf("stop of an unknown reply = %v, want stopNotFound", got)
	}
	if got := reg.stop(stopID("C1", "1.1"), "U1"); got != stopDone {
		t.Errorf("stop by the requester = %v, want stopDone", got)
	}
	if !errors.Is(context.Cause(ctx), errStoppedByUser) {
		t.Errorf("cause = %v, want errStoppedByUser", context.Cause(ctx))
	}

	remove()
	if got := reg.stop(stopID("C1", "1.1"), "U1"); got != stopNotFound {
		t.Errorf("stop after remove = %v, want stopNotFound", got)
	}
}

func TestStopActionsBlock(t *testing.T) {
	raw, err := json.Marshal(stopActions("C1:1.1"))
	if err != nil {
		t.Fatal(err)
	}
	var block struct {
		Type     string `json:"type"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(raw, &block); err != nil {
		t.Fatal(err)
	}
	if block.Type != "actions" || len(block.Elements) != 1 {
		t.Fatalf("block = %s, want one actions element", raw)
	}
	button := block.Elements[0]
	if button.Type != "button" || button.ActionID != stopActionID || button.Value != "C1:1.1" {
		t.Errorf("button = %+v", button)
	}
	if !strings.EqualFold(button.Text.Text, "stop") {
		t.Errorf("button text = %q, want Stop", button.Text.Text)
	}
}
