// Package testredis gives tests the Redis server they share: the one at
// TESSBOT_TEST_REDIS_URL, or database 15 of a local server. Each test gets key prefixes
// of its own, whose keys are deleted when the test ends.
package testredis

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL returns the server that tests use: TESSBOT_TEST_REDIS_URL, or database 15 of a
// local server.
func URL() string {
	if u := os.Getenv("TESSBOT_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

// Client returns a client of the test server, closed when t ends. When no server responds,
// t fails under CI=true and is skipped otherwise, saying why.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatal("TESSBOT_TEST_REDIS_URL is not a valid redis:// url")
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		msg := fmt.Sprintf("no redis server responds at %s (%v); start one with .ci/start-redis "+
			"or set TESSBOT_TEST_REDIS_URL", opts.Addr, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return client
}

// Prefix returns a key prefix of t's own and deletes the keys under it when t ends, so
// that tests never see each other's keys or the data of a bot on the same server.
func Prefix(t testing.TB) string {
	t.Helper()
	client := Client(t)
	prefix := "tessbot:test:" + rand.Text() + ":"
	t.Cleanup(func() { deleteKeys(t, client, prefix) })
	return prefix
}

func deleteKeys(t testing.TB, client *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		client.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("delete test keys: %v", err)
	}
}
