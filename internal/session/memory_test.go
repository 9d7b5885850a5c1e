package session_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

func TestMemoryStoreContract(t *testing.T) {
	testStoreContract(t, func(t *testing.T) storeEnv {
		clock := newManualClock()
		return storeEnv{store: session.NewMemoryStore(clock.Now), pass: clock.Advance}
	})
}

func TestMemoryStoreExpiryBoundary(t *testing.T) {
	tests := []struct {
		name    string
		elapsed time.Duration
		wantErr bool
	}{
		{name: "just before the deadline", elapsed: 10*time.Second - time.Nanosecond},
		{name: "at the deadline", elapsed: 10 * time.Second, wantErr: true},
		{name: "long after", elapsed: 24 * time.Hour, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newManualClock()
			st := session.NewMemoryStore(clock.Now)
			s := newSession(t)
			mustSave(t, st, s, 10*time.Second)
			clock.Advance(tt.elapsed)
			if tt.wantErr {
				assertNotFound(t, st, s.ID)
			} else {
				assertLoads(t, st, s)
			}
		})
	}
}

func TestMemoryStoreNilClock(t *testing.T) {
	st := session.NewMemoryStore(nil)
	s := newSession(t)
	mustSave(t, st, s, time.Hour)
	assertLoads(t, st, s)
}

func TestMemoryStoreConcurrent(t *testing.T) {
	st := session.NewMemoryStore(nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := session.Session{ID: fmt.Sprintf("g%d-%d", g, i%10), Username: "root@pam"}
				if err := st.Save(ctx, s, time.Minute); err != nil {
					t.Errorf("Save: %v", err)
					return
				}
				if _, err := st.Load(ctx, s.ID); err != nil {
					t.Errorf("Load: %v", err)
					return
				}
				if i%3 == 0 {
					_ = st.Delete(ctx, s.ID)
				}
			}
		})
	}
	wg.Wait()
}
