package web

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/throttle"
)

// The sign-in limits (docs/architecture.md, "Sign-in"). Every attempt, at
// the password and at the second step, is counted against three of them
// before PVE is asked.
const (
	limitWindow = 15 * time.Minute
	// pairMax: one account from one address (a guesser at one account).
	pairMax = 5
	// addressMax: one address across accounts (password spraying).
	addressMax = 30
	// accountMax: one account across addresses (a guesser with many
	// addresses). Browsers holding a device cookie for the account are
	// counted per device instead, so they are not locked out by it.
	accountMax = 50
	// deviceMax: one browser holding a device cookie for the account,
	// from any address.
	deviceMax = 5
)

// Counter keys, under throttle:. Accounts are compared case-insensitively;
// an address is an IPv4 address or an IPv6 /64 (one subscriber's share).
// No address contains '|', so the pair key is unambiguous.
const (
	pairKeyPrefix    = "acct-addr:" // acct-addr:{address}|{account}
	addressKeyPrefix = "addr:"      // addr:{address}
	accountKeyPrefix = "acct:"      // acct:{account}
	deviceKeyPrefix  = "device:"    // device:{device id}
)

// releaseTimeout bounds giving an attempt back after the answer is known.
const releaseTimeout = 3 * time.Second

// attempt is one sign-in attempt's counters.
type attempt struct {
	limits []throttle.Limit
	// clearOnSuccess are forgotten once the attempt signs in: the pair's
	// and the device's (the account's and the address's are not, so a
	// person signing in to their own account cannot wipe what a guesser
	// or a sprayer has used up).
	clearOnSuccess []string
}

// attemptFor builds the counters of an attempt to sign in as user from r.
func (s *Server) attemptFor(r *http.Request, user string) attempt {
	account := strings.ToLower(user)
	addr := addressKey(clientIP(r))
	window := func(n int) throttle.Policy { return throttle.Policy{Max: n, Window: limitWindow} }
	a := attempt{limits: []throttle.Limit{
		{Key: pairKeyPrefix + addr + "|" + account, Policy: window(pairMax)},
		{Key: addressKeyPrefix + addr, Policy: window(addressMax)},
	}}
	a.clearOnSuccess = []string{a.limits[0].Key}
	if dev, ok := s.deviceFor(r, account); ok {
		k := deviceKeyPrefix + dev.ID
		a.limits = append(a.limits, throttle.Limit{Key: k, Policy: window(deviceMax)})
		a.clearOnSuccess = append(a.clearOnSuccess, k)
	} else {
		a.limits = append(a.limits, throttle.Limit{Key: accountKeyPrefix + account, Policy: window(accountMax)})
	}
	return a
}

// addressKey is the part of a client address that limits count: the
// address itself, or its /64 for IPv6 (a single client usually holds a
// whole /64).
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// reserve counts the attempt before PVE is asked. A wait above zero means
// it is refused and nothing was counted. A store failure wraps
// session.ErrUnavailable (the curated 503).
func (s *Server) reserve(ctx context.Context, a attempt) (time.Duration, error) {
	wait, err := s.cfg.Limiter.Reserve(ctx, a.limits...)
	if err != nil {
		return 0, fmt.Errorf("sign-in limits: %w: %w", session.ErrUnavailable, err)
	}
	return wait, nil
}

// release gives back an attempt whose outcome was no failed guess (PVE
// unreachable, a session that could not be stored, a right password
// before the second step). It runs even when the browser has gone.
func (s *Server) release(r *http.Request, a attempt) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
	defer cancel()
	if err := s.cfg.Limiter.Release(ctx, a.limits...); err != nil {
		s.log.Error("sign-in limits: release", "request_id", requestID(r.Context()), "err", err)
	}
}

// succeeded gives back the attempt that signed in and forgets the pair's
// and the device's failures.
func (s *Server) succeeded(r *http.Request, a attempt) {
	s.release(r, a)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
	defer cancel()
	if err := s.cfg.Limiter.Reset(ctx, a.clearOnSuccess...); err != nil {
		s.log.Error("sign-in limits: reset", "request_id", requestID(r.Context()), "err", err)
	}
}

// throttled answers an attempt refused by the limits: 429 with
// Retry-After and how long to wait, on the page the attempt came from.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request, user, step string, wait time.Duration, page string, data any) {
	secs := int((wait + time.Second - 1) / time.Second)
	s.log.Warn("audit: sign-in throttled", "request_id", requestID(r.Context()), "user", user, "client", clientAddr(r),
		"step", step, "retry_after_s", secs)
	s.cfg.Metrics.SignIn("throttled")
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.render(w, r, http.StatusTooManyRequests, page, data)
}

// throttleMessage tells how long to wait, in whole minutes.
func throttleMessage(wait time.Duration) string {
	mins := int((wait + time.Minute - time.Second) / time.Minute)
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("Too many failed sign-in attempts. Try again in %d %s.", mins, unit)
}
