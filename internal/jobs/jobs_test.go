package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/jobs"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// Both implementations hold the same contract.
func implementations(t *testing.T) map[string]struct {
	slots jobs.Slots
	store jobs.Store
} {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	return map[string]struct {
		slots jobs.Slots
		store jobs.Store
	}{
		"memory": {jobs.NewMemorySlots(nil), jobs.NewMemoryStore(nil)},
		"redis":  {jobs.NewRedisSlots(rdb), jobs.NewRedisStore(rdb)},
	}
}

func TestSlotsLimitConcurrentHolders(t *testing.T) {
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			key := "user-" + name + "@pve"
			var got atomic.Int32
			var wg sync.WaitGroup
			tokens := make(chan string, 40)
			for i := 0; i < 40; i++ {
				wg.Go(func() {
					tok, ok, err := impl.slots.TryAcquire(ctx, key, 4, time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						got.Add(1)
						tokens <- tok
					}
				})
			}
			wg.Wait()
			close(tokens)
			if got.Load() != 4 {
				t.Fatalf("%d of 40 concurrent callers got a slot, want 4", got.Load())
			}
			if _, ok, _ := impl.slots.TryAcquire(ctx, "other@pve", 4, time.Minute); !ok {
				t.Error("another person's slots are full too")
			}
			first := <-tokens
			if ok, err := impl.slots.Renew(ctx, key, first, time.Minute); !ok || err != nil {
				t.Errorf("renew a held slot: %v %v", ok, err)
			}
			if err := impl.slots.Release(ctx, key, first); err != nil {
				t.Fatal(err)
			}
			if ok, _ := impl.slots.Renew(ctx, key, first, time.Minute); ok {
				t.Error("renewed a released slot")
			}
			if _, ok, _ := impl.slots.TryAcquire(ctx, key, 4, time.Minute); !ok {
				t.Error("no slot after a release")
			}
			if _, ok, _ := impl.slots.TryAcquire(ctx, key, 4, time.Minute); ok {
				t.Error("a fifth slot")
			}
		})
	}
}

func TestSlotsLeasesRunOut(t *testing.T) {
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			key := "lease-" + name
			tok, ok, err := impl.slots.TryAcquire(ctx, key, 1, 50*time.Millisecond)
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				// the holder vanished: its slot comes free once the lease ends
				if _, ok, _ := impl.slots.TryAcquire(ctx, key, 1, time.Minute); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the slot never came free")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if ok, _ := impl.slots.Renew(ctx, key, tok, time.Minute); ok {
				t.Error("renewed a lost slot")
			}
		})
	}
}

func TestStoreKeepsProgress(t *testing.T) {
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			job := jobs.Job{ID: "job-" + name, User: "root@pam", Action: "stop", Created: time.Unix(1700000000, 0).UTC(),
				Items: []jobs.Item{{Node: "pve1", VMID: 101, State: jobs.StateQueued}, {Node: "pve2", VMID: 102, State: jobs.StateQueued}}}
			if err := impl.store.Create(ctx, job, time.Minute); err != nil {
				t.Fatal(err)
			}
			done := jobs.Item{Node: "pve2", VMID: 102, State: jobs.StateFailed, Message: "CT 102 is locked (backup)"}
			if err := impl.store.SetItem(ctx, job.ID, 1, done); err != nil {
				t.Fatal(err)
			}
			if err := impl.store.Finish(ctx, job.ID); err != nil {
				t.Fatal(err)
			}
			got, err := impl.store.Get(ctx, job.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.User != "root@pam" || got.Action != "stop" || !got.Done || len(got.Items) != 2 ||
				got.Items[0] != job.Items[0] || got.Items[1] != done || !got.Created.Equal(job.Created) {
				t.Errorf("got %+v", got)
			}
			if _, err := impl.store.Get(ctx, "missing"); !errors.Is(err, jobs.ErrNotFound) {
				t.Errorf("missing job: %v", err)
			}
			if err := impl.store.SetItem(ctx, "missing", 0, done); !errors.Is(err, jobs.ErrNotFound) {
				t.Errorf("setting an item of a missing job: %v", err)
			}
		})
	}
}

func TestRedisOutageIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	srv.Stop(t)
	ctx := context.Background()
	if _, _, err := jobs.NewRedisSlots(rdb).TryAcquire(ctx, "k", 4, time.Minute); !errors.Is(err, jobs.ErrUnavailable) {
		t.Errorf("TryAcquire: %v", err)
	}
	if _, err := jobs.NewRedisStore(rdb).Get(ctx, "x"); !errors.Is(err, jobs.ErrUnavailable) {
		t.Errorf("Get: %v", err)
	}
}
