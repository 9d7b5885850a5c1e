package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// tfaStepTTL is how long the second step of a sign-in may take.
const tfaStepTTL = 5 * time.Minute

var (
	totpPattern     = regexp.MustCompile(`^[0-9]{6}$`)
	recoveryPattern = regexp.MustCompile(`^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$`)
)

// tfaStep is the pending second step of a sign-in. It travels in the form
// sealed with SESSION_SECRET (the browser cannot read the partial ticket)
// and is never stored as a session.
type tfaStep struct {
	Username string    `json:"u"`
	Ticket   string    `json:"t"`
	Expires  time.Time `json:"e"`
	TOTP     bool      `json:"o,omitempty"`
	Recovery []int     `json:"r,omitempty"`
	Next     string    `json:"n,omitempty"`
}

// tfaPage is the data of the second-step form.
type tfaPage struct {
	Step     string // sealed tfaStep
	Username string
	Mode     string // "totp" or "recovery"
	CanTOTP  bool
	Recovery int // unused recovery keys
	Error    string
	CodeErr  string
}

func (s *Server) sealStep(st tfaStep) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	return s.cfg.Codec.SealField("sign-in", "tfa-step", string(b))
}

func (s *Server) openStep(v string) (tfaStep, error) {
	plain, err := s.cfg.Codec.OpenField("sign-in", "tfa-step", v)
	if err != nil || plain == "" {
		return tfaStep{}, fmt.Errorf("open tfa step: %w", err)
	}
	var st tfaStep
	if err := json.Unmarshal([]byte(plain), &st); err != nil {
		return tfaStep{}, fmt.Errorf("decode tfa step: %w", err)
	}
	if !s.cfg.Now().Before(st.Expires) {
		return tfaStep{}, fmt.Errorf("tfa step expired at %s", st.Expires.Format(time.RFC3339))
	}
	return st, nil
}

// startTFA answers a right password of an account with second factors: it
// shows the code form for the factors this dashboard can use, or says which
// factor the account needs when it can use none.
func (s *Server) startTFA(w http.ResponseWriter, r *http.Request, p loginPage, cred lxc.Credentials, ch lxc.TFAChallenge, next string) error {
	if !ch.TOTP && len(ch.Recovery) == 0 {
		msg := msgSecondFactor
		switch {
		case ch.WebAuthn:
			msg = msgWebAuthnOnly
		case ch.Yubico:
			msg = msgYubicoOnly
		}
		s.log.Warn("audit: sign-in failed", "user", cred.UserID(), "client", clientAddr(r), "outcome", "unsupported second factor",
			"webauthn", ch.WebAuthn, "yubico", ch.Yubico, "request_id", requestID(r.Context()))
		s.cfg.Metrics.SignIn("unsupported_factor")
		p.Error = msg
		s.render(w, r, http.StatusUnauthorized, "login", p)
		return nil
	}
	step := tfaStep{Username: ch.Username, Ticket: ch.Ticket, Expires: s.cfg.Now().Add(tfaStepTTL),
		TOTP: ch.TOTP, Recovery: ch.Recovery, Next: next}
	sealed, err := s.sealStep(step)
	if err != nil {
		return fmt.Errorf("seal tfa step: %w", err)
	}
	s.log.Info("audit: sign-in second step", "user", ch.Username, "client", clientAddr(r), "request_id", requestID(r.Context()))
	s.render(w, r, http.StatusOK, "tfa", newTFAPage(step, sealed, ""))
	return nil
}

func newTFAPage(st tfaStep, sealed, mode string) tfaPage {
	if mode != "recovery" || len(st.Recovery) == 0 {
		mode = "totp"
	}
	if !st.TOTP {
		mode = "recovery"
	}
	return tfaPage{Step: sealed, Username: st.Username, Mode: mode, CanTOTP: st.TOTP, Recovery: len(st.Recovery)}
}

// loginTFA is the second step (POST /login/tfa): a TOTP code or a recovery
// key, checked by PVE against the partial ticket.
func (s *Server) loginTFA(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	sealed := r.PostForm.Get("step")
	st, err := s.openStep(sealed)
	if err != nil {
		s.log.Info("sign-in second step refused", "request_id", requestID(r.Context()), "err", err)
		realms := s.realmList(r.Context())
		s.render(w, r, http.StatusUnauthorized, "login", loginPage{Realm: defaultRealm(realms), Realms: realms, Error: msgTFAExpired})
		return nil
	}
	mode := r.PostForm.Get("mode")
	if sw := r.PostForm.Get("switch"); sw != "" {
		// "Use a recovery key" / "Use a code": the same step, the other form.
		s.render(w, r, http.StatusOK, "tfa", newTFAPage(st, sealed, sw))
		return nil
	}
	p := newTFAPage(st, sealed, mode)
	code := strings.TrimSpace(r.PostForm.Get("code"))
	var response string
	switch p.Mode {
	case "totp":
		code = strings.ReplaceAll(code, " ", "")
		if !totpPattern.MatchString(code) {
			p.CodeErr = "Enter the 6-digit code from your authenticator app."
		}
		response = "totp:" + code
	default:
		code = strings.ToLower(code)
		if !recoveryPattern.MatchString(code) {
			p.CodeErr = "Enter a recovery key in the form xxxx-xxxx-xxxx-xxxx."
		}
		response = "recovery:" + code
	}
	if p.CodeErr != "" {
		s.render(w, r, http.StatusBadRequest, "tfa", p)
		return nil
	}

	acctKey, addrKey := "acct:"+strings.ToLower(st.Username), "addr:"+clientIP(r)
	if wait, err := s.cfg.Limiter.Blocked(r.Context(), acctKey, addrKey); err != nil || wait > 0 {
		if err == nil {
			s.log.Warn("audit: sign-in throttled", "user", st.Username, "client", clientAddr(r), "step", "second factor")
			w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+0.999)))
			p.Error = throttleMessage(wait)
			s.render(w, r, http.StatusTooManyRequests, "tfa", p)
			return nil
		}
		return fmt.Errorf("throttle: %w", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LoginTimeout)
	defer cancel()
	ch := lxc.TFAChallenge{Username: st.Username, Ticket: st.Ticket}
	id, err := s.cfg.PVE.CompleteTFA(ctx, ch, response)
	if err == nil {
		err = s.startSession(ctx, w, r, id)
	}
	if err != nil {
		status, msg := userError(err)
		outcome := string(lxc.ErrorCode(err))
		if lxc.ErrorCode(err) == lxc.ECredentials {
			outcome = "invalid_code"
			msg = msgInvalidCode
			if ferr := s.cfg.Limiter.Fail(r.Context(), acctKey, addrKey); ferr != nil {
				s.log.Error("throttle: count failure", "err", ferr)
			}
		}
		s.cfg.Metrics.SignIn(outcome)
		s.log.Warn("audit: sign-in failed", "user", st.Username, "client", clientAddr(r), "step", "second factor",
			"mode", p.Mode, "outcome", string(lxc.ErrorCode(err)), "request_id", requestID(r.Context()), "err", err)
		p.Error = msg
		s.render(w, r, status, "tfa", p)
		return nil
	}
	if rerr := s.cfg.Limiter.Reset(r.Context(), acctKey); rerr != nil {
		s.log.Error("throttle: reset account", "err", rerr)
	}
	s.cfg.Metrics.SignIn("success")
	s.log.Info("audit: sign-in", "user", id.Username, "client", clientAddr(r), "outcome", "success", "second_factor", p.Mode,
		"request_id", requestID(r.Context()))
	http.Redirect(w, r, safeNext(st.Next), http.StatusSeeOther)
	return nil
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
