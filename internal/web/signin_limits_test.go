package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// clientFrom returns a client (own cookie jar, no redirects followed) whose
// connections leave from ip, a loopback address such as 127.0.0.2, so the
// dashboard sees a distinct client address without any proxy header.
func clientFrom(t *testing.T, st *apptest.Stack, ip string) *http.Client {
	t.Helper()
	c := st.Client(t)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	c.Transport = tr
	return c
}

// withJar returns a client that leaves from ip but shares c's cookie jar:
// the same browser on another network.
func withJar(t *testing.T, st *apptest.Stack, c *http.Client, ip string) *http.Client {
	t.Helper()
	moved := clientFrom(t, st, ip)
	moved.Jar = c.Jar
	return moved
}

func ticketCalls(st *apptest.Stack) int64 { return st.Sim.Calls(http.MethodPost, "/access/ticket") }

func stores() []bool { return []bool{false, true} }

func storeName(memory bool) string {
	if memory {
		return "memory"
	}
	return "redis"
}

// Issue 8 item 1: the attempt is counted before PVE is asked, so parallel
// guesses cannot all slip past the limit while PVE holds each refusal.
func TestParallelGuessesReachPVEAtMostFiveTimes(t *testing.T) {
	for _, memory := range stores() {
		t.Run(storeName(memory), func(t *testing.T) {
			st := apptest.Start(t, apptest.Options{MemorySessions: memory,
				Sim: pvesim.Options{Scenario: "demo", AuthFailureDelay: 300 * time.Millisecond}})
			c := clientFrom(t, st, "127.0.0.2")
			before := ticketCalls(st)
			const guesses = 40
			statuses := make([]int, guesses)
			var wg sync.WaitGroup
			for i := range guesses {
				wg.Go(func() {
					statuses[i] = login(t, st, c, "root", "pam", fmt.Sprintf("guess-%d", i)).status
				})
			}
			wg.Wait()
			if n := ticketCalls(st) - before; n > 5 {
				t.Errorf("%d of %d parallel guesses reached PVE, want at most 5", n, guesses)
			}
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			if count[http.StatusUnauthorized] > 5 || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != guesses {
				t.Errorf("statuses %v: want at most 5×401 and the rest 429", count)
			}
			r := login(t, st, c, "root", "pam", rootPassword)
			if r.status != http.StatusTooManyRequests {
				t.Errorf("right password after the burst: %d, want 429", r.status)
			}
			if setCookieHeader(t, r) != "" {
				t.Error("the throttled right password got a session")
			}
		})
	}
}

// Issue 8 item 2: failures from one address do not lock the account for
// everybody.
func TestFailuresFromOneAddressDoNotLockTheAccount(t *testing.T) {
	for _, memory := range stores() {
		t.Run(storeName(memory), func(t *testing.T) {
			st := apptest.Start(t, apptest.Options{MemorySessions: memory, Sim: pvesim.Options{Scenario: "demo"}})
			attacker := clientFrom(t, st, "127.0.0.2")
			for i := range 5 {
				if r := login(t, st, attacker, "root", "pam", "wrong"); r.status != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d", i+1, r.status)
				}
			}
			before := ticketCalls(st)
			r := login(t, st, attacker, "root", "pam", rootPassword)
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("6th try from the guessing address: %d, want 429", r.status)
			}
			if !regexp.MustCompile(`Too many failed sign-in attempts. Try again in 1[45] minutes.`).MatchString(r.body) {
				t.Errorf("message: %s", regexp.MustCompile(`id="login-error">[^<]*`).FindString(r.body))
			}
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 800 || ra > 900 {
				t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
			}
			if ticketCalls(st) != before {
				t.Error("PVE was asked while throttled")
			}
			if !memory {
				keys, err := st.RDB.Keys(context.Background(), "throttle:*").Result()
				slices.Sort(keys)
				want := []string{"throttle:{signin}:acct-addr:127.0.0.2|root@pam", "throttle:{signin}:acct:root@pam", "throttle:{signin}:addr:127.0.0.2"}
				if err != nil || !slices.Equal(keys, want) {
					t.Errorf("counters in Redis: %v, want %v (%v)", keys, want, err)
				}
			}
			// The owner, elsewhere, signs in.
			owner := clientFrom(t, st, "127.0.0.3")
			if r := login(t, st, owner, "root", "pam", rootPassword); r.status != http.StatusSeeOther {
				t.Errorf("right password from another address: %d, want 303", r.status)
			}
			// Another account from the guessing address is not held by
			// root's failures.
			if r := login(t, st, clientFrom(t, st, "127.0.0.2"), "alice", "pve", "alice-pass"); r.status != http.StatusSeeOther {
				t.Errorf("another account from the guessing address: %d, want 303", r.status)
			}
		})
	}
}

// Password spraying: one address guessing across many accounts is held
// after 30 attempts.
func TestSprayingFromOneAddressIsLimited(t *testing.T) {
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	c := clientFrom(t, st, "127.0.0.5")
	for i := range 30 {
		if r := login(t, st, c, fmt.Sprintf("user%d", i), "pve", "Summer2026!"); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, r.status)
		}
	}
	before := ticketCalls(st)
	if r := login(t, st, c, "alice", "pve", "alice-pass"); r.status != http.StatusTooManyRequests {
		t.Errorf("31st attempt from the address: %d, want 429", r.status)
	}
	if ticketCalls(st) != before {
		t.Error("PVE was asked while the address was held")
	}
	if r := login(t, st, clientFrom(t, st, "127.0.0.6"), "alice", "pve", "alice-pass"); r.status != http.StatusSeeOther {
		t.Errorf("alice from another address: %d", r.status)
	}
}

// attackAccount sends wrong passwords for user from many addresses until the
// account-wide limit holds a fresh browser back.
func attackAccount(t *testing.T, st *apptest.Stack, user, realm string) {
	t.Helper()
	for a := 10; a < 40; a++ {
		c := clientFrom(t, st, fmt.Sprintf("127.0.1.%d", a))
		for range 5 {
			r := login(t, st, c, user, realm, "wrong")
			if r.status == http.StatusTooManyRequests {
				return
			}
			if r.status != http.StatusUnauthorized {
				t.Fatalf("guess from 127.0.1.%d: %d", a, r.status)
			}
		}
	}
	t.Fatal("the account-wide limit never held")
}

// Issue 8 item 2: a browser that signed in before keeps signing in while
// the account is under attack from many addresses; a fresh browser does
// not.
func TestKnownBrowserSignsInDuringAttack(t *testing.T) {
	for _, memory := range stores() {
		t.Run(storeName(memory), func(t *testing.T) {
			st := apptest.Start(t, apptest.Options{MemorySessions: memory, Sim: pvesim.Options{Scenario: "demo"}})
			known := clientFrom(t, st, "127.0.0.3")
			if r := login(t, st, known, "root", "pam", rootPassword); r.status != http.StatusSeeOther {
				t.Fatalf("first sign-in: %d", r.status)
			}
			if r := postForm(t, st, known, "/logout", nil); r.status != http.StatusSeeOther {
				t.Fatalf("sign-out: %d", r.status)
			}

			attackAccount(t, st, "root", "pam")

			before := ticketCalls(st)
			if r := login(t, st, clientFrom(t, st, "127.0.0.4"), "root", "pam", rootPassword); r.status != http.StatusTooManyRequests {
				t.Errorf("fresh browser during the attack: %d, want 429", r.status)
			}
			if ticketCalls(st) != before {
				t.Error("PVE was asked for a held account")
			}
			// The known browser signs in, from its usual address and from
			// another one.
			r := login(t, st, known, "root", "pam", rootPassword)
			if r.status != http.StatusSeeOther {
				t.Fatalf("known browser during the attack: %d, want 303", r.status)
			}
			if h := get(t, st, known, "/"); h.status != http.StatusOK {
				t.Errorf("home after sign-in: %d", h.status)
			}
			if r := login(t, st, withJar(t, st, known, "127.0.0.7"), "root", "pam", rootPassword); r.status != http.StatusSeeOther {
				t.Errorf("known browser on another network: %d, want 303", r.status)
			}
			// Its cookie names root only: for alice it is a fresh browser,
			// and alice is not under attack.
			if r := login(t, st, withJar(t, st, known, "127.0.0.8"), "alice", "pve", "alice-pass"); r.status != http.StatusSeeOther {
				t.Errorf("alice in root's browser: %d", r.status)
			}
		})
	}
}

// A known browser's own guesses are limited per browser, whatever address
// it uses.
func TestKnownBrowserGuessesAreLimited(t *testing.T) {
	st := apptest.Start(t, apptest.Options{Sim: pvesim.Options{Scenario: "demo"}})
	known := clientFrom(t, st, "127.0.0.3")
	if r := login(t, st, known, "alice", "pve", "alice-pass"); r.status != http.StatusSeeOther {
		t.Fatalf("first sign-in: %d", r.status)
	}
	for i := range 5 {
		c := withJar(t, st, known, fmt.Sprintf("127.0.2.%d", i+1))
		if r := login(t, st, c, "alice", "pve", "wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, r.status)
		}
	}
	if r := login(t, st, withJar(t, st, known, "127.0.2.9"), "alice", "pve", "alice-pass"); r.status != http.StatusTooManyRequests {
		t.Errorf("6th try with the same browser from a new address: %d, want 429", r.status)
	}
	// Without that browser's cookie, alice (not otherwise attacked) signs in.
	if r := login(t, st, clientFrom(t, st, "127.0.2.10"), "alice", "pve", "alice-pass"); r.status != http.StatusSeeOther {
		t.Errorf("another browser: %d", r.status)
	}
}

// Successful sign-ins give their attempt back: many people behind one
// address (one NAT) sign in one after another without being held.
func TestSuccessfulSignInsAreNotCounted(t *testing.T) {
	for _, memory := range stores() {
		t.Run(storeName(memory), func(t *testing.T) {
			st := apptest.Start(t, apptest.Options{MemorySessions: memory, Sim: pvesim.Options{Scenario: "demo"}})
			for i := range 40 {
				if r := login(t, st, clientFrom(t, st, "127.0.0.9"), "root", "pam", rootPassword); r.status != http.StatusSeeOther {
					t.Fatalf("sign-in %d: %d", i+1, r.status)
				}
			}
			// A typo does not carry the others' attempts: the person has
			// all five.
			c := clientFrom(t, st, "127.0.0.9")
			for i := range 4 {
				if r := login(t, st, c, "root", "pam", "typo"); r.status != http.StatusUnauthorized {
					t.Fatalf("typo %d: %d", i+1, r.status)
				}
			}
			if r := login(t, st, c, "root", "pam", rootPassword); r.status != http.StatusSeeOther {
				t.Errorf("after four typos: %d", r.status)
			}
			if !memory {
				// Only the failures' counters remain: the pair's was
				// forgotten at the sign-in.
				keys, _ := st.RDB.Keys(context.Background(), "throttle:*").Result()
				slices.Sort(keys)
				if want := []string{"throttle:{signin}:acct:root@pam", "throttle:{signin}:addr:127.0.0.9"}; !slices.Equal(keys, want) {
					t.Errorf("counters %v, want %v", keys, want)
				}
				for _, k := range keys {
					if n, _ := st.RDB.Get(context.Background(), k).Int(); n != 4 {
						t.Errorf("%s = %d, want the 4 typos", k, n)
					}
				}
			}
		})
	}
}
