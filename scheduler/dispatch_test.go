package scheduler

import (
	"context"
	"testing"
	"time"
)

// shownReply returns a reply whose placeholder is posted and shows text, with new text
// pending, on a scheduler whose Run is not started.
func shownReply(t *testing.T, s *Scheduler) *Reply {
	t.Helper()
	r := s.Start("C1", "100.000001", "…")
	s.takeChanged()
	m := r.parts[0].msgs[0]
	m.ts, m.sent, m.showsText = "1700000000.000001", "old text", true
	r.parts[0].text, m.text = "new text", "new text"
	return r
}

func TestReserveKeepsTokensForFinalTexts(t *testing.T) {
	tests := []struct {
		name      string
		tokens    float64
		final     bool
		wantToken bool
	}{
		{"intermediate edit, bucket low", 3, false, false},
		{"intermediate edit, bucket full", 5, false, true},
		{"final text, bucket empty", 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig()
			cfg.UpdateBurst = 5
			cfg.UpdateLimiter = newStepLimiter(tt.tokens)
			s := New(newFakeSlack(), cfg)
			r := shownReply(t, s)
			r.final = tt.final
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			now := time.Now()
			next := s.dispatch(ctx, now)
			if s.tokenWaiting != tt.wantToken {
				t.Errorf("token requested = %v, want %v", s.tokenWaiting, tt.wantToken)
			}
			if !tt.wantToken && !next.After(now) {
				t.Errorf("next wake = %v, want a time after now while the reserve refills", next.Sub(now))
			}
		})
	}
}

func TestEditIntervalDelaysIntermediateEdits(t *testing.T) {
	tests := []struct {
		name      string
		final     bool
		wantToken bool
	}{
		{"intermediate edit waits", false, false},
		{"final text does not wait", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig()
			cfg.EditInterval = time.Hour
			cfg.UpdateLimiter = newStepLimiter(100)
			s := New(newFakeSlack(), cfg)
			r := shownReply(t, s)
			r.final = tt.final
			now := time.Now()
			r.parts[0].msgs[0].lastWrite = now
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			next := s.dispatch(ctx, now)
			if s.tokenWaiting != tt.wantToken {
				t.Errorf("token requested = %v, want %v", s.tokenWaiting, tt.wantToken)
			}
			if !tt.wantToken && !next.Equal(now.Add(time.Hour)) {
				t.Errorf("next wake in %v, want in 1h", next.Sub(now))
			}
		})
	}
}

func TestClearingActionsIsFinalPriority(t *testing.T) {
	tests := []struct {
		name      string
		final     bool
		wantToken bool
	}{
		{"streaming, text unchanged", false, false},
		{"final, text unchanged", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig()
			cfg.UpdateBurst = 5
			cfg.UpdateLimiter = newStepLimiter(0)
			s := New(newFakeSlack(), cfg)
			r := shownReply(t, s)
			r.actions.block = stopButton()
			m := r.parts[0].msgs[0]
			m.sent, m.hasBlocks = m.text, true
			r.final = tt.final
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s.dispatch(ctx, time.Now())
			if s.tokenWaiting != tt.wantToken {
				t.Errorf("token requested = %v, want %v", s.tokenWaiting, tt.wantToken)
			}
		})
	}
}
