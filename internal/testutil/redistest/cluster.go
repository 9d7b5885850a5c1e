package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// Cluster is a Redis Cluster of the test's own (REDIS_URL does not apply):
// masters only, each serving an equal share of the hash slots.
type Cluster struct {
	// Nodes are the masters; Nodes[i] serves the i-th share of the slots.
	Nodes []*Server
	// Addrs are their host:port addresses.
	Addrs []string
}

// StartCluster starts n masters with cluster mode on, gives each its share
// of the slots (CLUSTER ADDSLOTSRANGE), introduces them (CLUSTER MEET) and
// returns once every node reports the cluster ok. No redis-cli is needed.
// Everything stops when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{}
	for range n {
		srv := startOwn(t, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes-{port}.conf",
			"--cluster-node-timeout", "2000",
		})
		c.Nodes = append(c.Nodes, srv)
		c.Addrs = append(c.Addrs, srv.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, srv := range c.Nodes {
		cl := srv.Client(t)
		first, last := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if err := cl.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", first, last).Err(); err != nil {
			t.Fatalf("redistest: CLUSTER ADDSLOTSRANGE %d %d: %v", first, last, err)
		}
		// Distinct epochs, so no node has to settle a collision first.
		if err := cl.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			t.Fatalf("redistest: CLUSTER SET-CONFIG-EPOCH: %v", err)
		}
	}
	first := c.Nodes[0].Client(t)
	for _, srv := range c.Nodes[1:] {
		if err := first.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", srv.port).Err(); err != nil {
			t.Fatalf("redistest: CLUSTER MEET: %v", err)
		}
	}
	for _, srv := range c.Nodes {
		cl := srv.Client(t)
		waitFor(ctx, t, "the cluster to form", func() (bool, error) {
			info, err := cl.ClusterInfo(ctx).Result()
			return strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)+"\r"), err
		})
	}
	return c
}

// Options are the session package's options for this cluster.
func (c *Cluster) Options() session.RedisOptions {
	return session.RedisOptions{ClusterAddrs: c.Addrs}
}

// SlotOwner returns the node that serves key's hash slot.
func (c *Cluster) SlotOwner(t testing.TB, key string) *Server {
	t.Helper()
	slot, err := c.Nodes[0].Client(t).ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("redistest: CLUSTER KEYSLOT: %v", err)
	}
	n := len(c.Nodes)
	for i, srv := range c.Nodes {
		if int(slot) <= (i+1)*clusterSlots/n-1 {
			return srv
		}
	}
	panic(fmt.Sprintf("redistest: slot %d beyond %d", slot, clusterSlots))
}
