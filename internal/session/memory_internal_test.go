package session

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoryStoreRemovesExpiredEntries(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := NewMemoryStore(func() time.Time { return now })
	ctx := context.Background()
	save := func(id string, ttl time.Duration) {
		t.Helper()
		if err := st.Save(ctx, Session{ID: id}, ttl); err != nil {
			t.Fatalf("Save(%s): %v", id, err)
		}
	}
	ids := func() map[string]bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		got := map[string]bool{}
		for id := range st.entries {
			got[id] = true
		}
		return got
	}

	save("short-1", time.Minute)
	save("short-2", time.Minute)
	save("long", time.Hour)
	now = now.Add(2 * time.Minute)

	// Load removes the expired entry it finds.
	if _, err := st.Load(ctx, "short-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of an expired entry: %v, want ErrNotFound", err)
	}
	if got := ids(); got["short-1"] || !got["short-2"] || !got["long"] {
		t.Fatalf("after Load: entries %v, want short-2 and long", got)
	}

	// Save sweeps every expired entry.
	save("new", time.Minute)
	if got := ids(); len(got) != 2 || !got["long"] || !got["new"] {
		t.Fatalf("after Save: entries %v, want long and new", got)
	}
}
