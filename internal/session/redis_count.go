package session

import (
	"context"
	"strconv"
	"time"
)

// expiryKey is a sorted set of session ids scored by when each session's
// key expires (Unix seconds). Save, Update (with a new TTL) and Delete keep
// it in step with the sessions, so Count needs no scan of the key space.
const expiryKey = "sessions-by-expiry"

// expiryScore is t as a score of the expiry index.
func expiryScore(t time.Time) float64 { return float64(t.Unix()) }

// Count returns the number of live sessions: the members of the expiry
// index whose expiry is still ahead, after dropping those that have passed
// (two commands in one transaction, whatever the number of keys in Redis).
// Sessions saved by a version without the index are counted from their
// first renewal on.
func (r *RedisStore) Count(ctx context.Context) (int, error) {
	now := strconv.FormatFloat(expiryScore(time.Now()), 'f', -1, 64)
	pipe := r.client.TxPipeline()
	pipe.ZRemRangeByScore(ctx, expiryKey, "-inf", "("+now)
	card := pipe.ZCard(ctx, expiryKey)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, &UnavailableError{Op: "count", Err: err}
	}
	return int(card.Val()), nil
}
