package redistest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// TestSentinelFailover: the set-up fails over by itself when its primary
// dies, and a client built from Options follows it.
func TestSentinelFailover(t *testing.T) {
	s := redistest.StartSentinel(t)
	c, err := session.NewUniversalClient(s.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatalf("SET through Sentinel: %v", err)
	}
	if addr, err := s.PrimaryAddr(ctx, t); err != nil || addr != s.Primary.Addr() {
		t.Fatalf("primary %q, %v; want %s", addr, err, s.Primary.Addr())
	}
	s.WaitReplicated(t)
	s.Primary.Kill(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		addr, err := s.PrimaryAddr(ctx, t)
		if err == nil && addr == s.Replica.Addr() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover to %s within 15 s (primary %q, %v)", s.Replica.Addr(), addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		v, err := c.Get(ctx, "k").Result()
		if err == nil {
			if v != "before" {
				t.Fatalf("after the failover k = %q", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client did not follow the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.Set(ctx, "k", "after", 0).Err(); err != nil {
		t.Errorf("SET on the new primary: %v", err)
	}
}

// TestCluster: three masters share the slots; a cluster client reaches
// every key, and the keys really are spread over the three.
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	c, err := session.NewUniversalClient(cl.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	owners := map[string]int{}
	for i := range 30 {
		key := fmt.Sprintf("key-%d", i)
		if err := c.Set(ctx, key, i, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		owner := cl.SlotOwner(t, key)
		if n, err := owner.Client(t).Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Fatalf("%s is not on the node serving its slot: %d, %v", key, n, err)
		}
		owners[owner.Addr()]++
	}
	if len(owners) != 3 {
		t.Errorf("30 keys landed on %d nodes, want 3: %v", len(owners), owners)
	}
}
