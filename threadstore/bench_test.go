package threadstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/testredis"
)

// The benchmarks measure one store operation per iteration and report operations per
// second. Run them with
//
//	go test -run '^$' -bench . -benchtime 2s ./threadstore/

func BenchmarkBolt(b *testing.B) {
	s := openTestBolt(b, filepath.Join(b.TempDir(), "tessbot.db"), Options{})
	benchStore(b, s)
}

func BenchmarkRedis(b *testing.B) {
	s := openTestRedis(b, testredis.URL(), Options{}, testredis.Prefix(b))
	benchStore(b, s)
}

func benchStore(b *testing.B, s Store) {
	ctx := context.Background()
	key := ThreadKey{Channel: "C01", ThreadTS: "1700000000.000100"}
	if err := s.PutThread(ctx, key, Thread{RootID: 1, AgentID: "agent"}); err != nil {
		b.Fatalf("PutThread: %v", err)
	}

	b.Run("PutThread", func(b *testing.B) {
		benchOps(b, func(i int) error {
			k := ThreadKey{Channel: "C01", ThreadTS: fmt.Sprintf("%d.0", i%1000)}
			return s.PutThread(ctx, k, Thread{RootID: int64(i), AgentID: "agent"})
		})
	})
	b.Run("Thread", func(b *testing.B) {
		benchOps(b, func(int) error {
			_, err := s.Thread(ctx, key)
			return err
		})
	})
	b.Run("MarkSeen", func(b *testing.B) {
		run := time.Now().UnixNano()
		benchOps(b, func(i int) error {
			_, err := s.MarkSeen(ctx, fmt.Sprintf("Ev-%d-%d", run, i), time.Minute)
			return err
		})
	})
	b.Run("LockUnlock", func(b *testing.B) {
		benchOps(b, func(int) error {
			unlock, err := s.Lock(ctx, "thread:C01:1.0", time.Minute)
			if err != nil {
				return err
			}
			unlock()
			return nil
		})
	})
	b.Run("LimiterWait", func(b *testing.B) {
		// The budget never runs out, so this measures the bookkeeping alone.
		benchOps(b, func(int) error {
			return s.Limiter().Wait(ctx, "chat.update", 1e9, 1e9)
		})
	})
}

// benchOps runs op once per iteration with the iteration number and reports ops/s.
func benchOps(b *testing.B, op func(i int) error) {
	n := 0
	for b.Loop() {
		if err := op(n); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "ops/s")
}
