// Package throttle makes guessing expensive: a Limiter reserves attempts
// against several counters at once (an account, a client address, a
// browser), and Claims remembers single-use tokens until they expire.
// Both keep their state in Redis, so the limits hold across dashboard
// instances; the memory versions serve the demo.
package throttle

import (
	"context"
	"errors"
	"time"
)

// Policy is one counter's limit: at most Max attempts within Window,
// counted from the counter's first attempt.
type Policy struct {
	Max    int
	Window time.Duration
}

// Limit is one counter and its policy.
type Limit struct {
	Key    string
	Policy Policy
}

// Limiter counts attempts. The contract:
//
//   - Reserve counts one attempt against every limit, atomically: when any
//     of them is at its Max, nothing is counted and Reserve returns how long
//     until the last of those blocking limits frees up (wait > 0). Parallel
//     callers cannot overshoot: of many concurrent Reserves on one key with
//     room for n more attempts, exactly n succeed.
//   - Release gives back one attempt on each limit, for a reserved attempt
//     that turned out not to be a failure (a success, or an outcome that
//     says nothing about the guess). It never takes a counter below zero.
//   - Reset forgets the counters of keys.
//
// Errors wrap ErrUnavailable and mean the counter store could not be
// asked; a Reserve that fails has counted nothing.
type Limiter interface {
	Reserve(ctx context.Context, limits ...Limit) (wait time.Duration, err error)
	Release(ctx context.Context, limits ...Limit) error
	Reset(ctx context.Context, keys ...string) error
}

// ErrUnavailable means the counter store (Redis) could not be asked.
var ErrUnavailable = errors.New("throttle: counter store unavailable")

// ErrInvalid means a Limit cannot be counted: an empty key or a policy
// without a positive window.
var ErrInvalid = errors.New("throttle: invalid limit")

// check validates limits before anything is counted.
func check(limits []Limit) error {
	for _, l := range limits {
		if l.Key == "" || l.Policy.Window <= 0 || l.Policy.Max < 0 {
			return ErrInvalid
		}
	}
	return nil
}
