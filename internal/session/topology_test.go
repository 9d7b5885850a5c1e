package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

// clusterStore is a RedisStore on a 3-master cluster of its own.
func clusterStore(t *testing.T) (*session.RedisStore, *redistest.Cluster) {
	t.Helper()
	cl := redistest.StartCluster(t, 3)
	c, err := session.NewUniversalClient(cl.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return session.NewRedisStore(c), cl
}

// TestRedisStoreContractOnCluster: the whole Store contract holds on a
// 3-master Redis Cluster, whose keys of different hash slots live on
// different servers.
func TestRedisStoreContractOnCluster(t *testing.T) {
	st, _ := clusterStore(t)
	testStoreContract(t, func(*testing.T) storeEnv {
		return storeEnv{store: st, pass: time.Sleep}
	})
}

// TestRedisStoreIndexesOnCluster: a user's sessions, the user's index and
// the expiry index are spread over several masters, and Save, a renewal,
// ListUser, Count and Delete still keep them in step.
func TestRedisStoreIndexesOnCluster(t *testing.T) {
	st, cl := clusterStore(t)
	ctx := context.Background()
	user := "spread@pve"
	owners := map[string]bool{}
	var ids []string
	for range 9 {
		s := newSession(t)
		s.Username = user
		mustSave(t, st, s, time.Hour)
		ids = append(ids, s.ID)
		owners[cl.SlotOwner(t, session.Key(s.ID)).Addr()] = true
	}
	if len(owners) < 2 {
		t.Fatalf("9 sessions on %d node(s): the test needs them spread", len(owners))
	}
	if n, err := st.Count(ctx); err != nil || n != 9 {
		t.Fatalf("Count = %d, %v; want 9", n, err)
	}
	list, err := st.ListUser(ctx, user)
	if err != nil || len(list) != 9 {
		t.Fatalf("ListUser = %d sessions, %v; want 9", len(list), err)
	}
	renewed := list[0]
	if err := st.Update(ctx, renewed, 2*time.Hour); err != nil {
		t.Fatalf("renewal: %v", err)
	}
	for _, id := range ids[:4] {
		if err := st.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// A renewal of a session signed out meanwhile brings nothing back.
	gone := list[0]
	for _, s := range list {
		if s.ID == ids[0] {
			gone = s
		}
	}
	if err := st.Update(ctx, gone, 2*time.Hour); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("renewal after sign-out = %v, want ErrNotFound", err)
	}
	if n, err := st.Count(ctx); err != nil || n != 5 {
		t.Errorf("Count after 4 sign-outs = %d, %v; want 5", n, err)
	}
	list, err = st.ListUser(ctx, user)
	if err != nil || len(list) != 5 {
		t.Fatalf("ListUser after 4 sign-outs = %d sessions, %v; want 5", len(list), err)
	}
	for _, s := range list {
		for _, id := range ids[:4] {
			if s.ID == id {
				t.Errorf("a signed-out session is listed")
			}
		}
	}
}

// TestRedisStoreOnSentinel: the store works through Sentinel.
func TestRedisStoreOnSentinel(t *testing.T) {
	s := redistest.StartSentinel(t)
	c, err := session.NewUniversalClient(s.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	st := session.NewRedisStore(c)
	testStoreContract(t, func(*testing.T) storeEnv {
		return storeEnv{store: st, pass: time.Sleep}
	})
}

// TestRedisOverTLSWithACLUser: rediss:// with an ACL user and password
// reaches the server; a wrong password is refused without being echoed,
// and so is a server certificate the client does not trust.
func TestRedisOverTLSWithACLUser(t *testing.T) {
	srv := redistest.StartTLS(t)
	ctx := context.Background()
	if err := srv.Client(t).Do(ctx, "ACL", "SETUSER", "lxcm", "on", ">pw-0123", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	tlsURL := func(userinfo string) string { return "rediss://" + userinfo + "@" + srv.TLSAddr + "/0" }
	cases := []struct {
		name   string
		opts   session.RedisOptions
		wantOK bool
	}{
		{"ACL user over TLS", session.RedisOptions{URL: tlsURL("lxcm:pw-0123"), TLS: srv.Config}, true},
		{"wrong password", session.RedisOptions{URL: tlsURL("lxcm:wrong-secret"), TLS: srv.Config}, false},
		{"untrusted certificate", session.RedisOptions{URL: tlsURL("lxcm:pw-0123")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := session.NewUniversalClient(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := session.NewRedisStore(c)
			s := newSession(t)
			err = st.Save(ctx, s, time.Minute)
			if tc.wantOK {
				if err != nil {
					t.Fatalf("Save: %v", err)
				}
				assertLoads(t, st, s)
				return
			}
			if !errors.Is(err, session.ErrUnavailable) {
				t.Fatalf("Save = %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), "wrong-secret") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
