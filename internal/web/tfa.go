package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// tfaStepTTL is how long the second step of a sign-in may take.
const tfaStepTTL = 5 * time.Minute

var (
	totpPattern     = regexp.MustCompile(`^[0-9]{6}$`)
	recoveryPattern = regexp.MustCompile(`^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$`)
)

// errStepRefused means a second-step form cannot be used: it is missing,
// does not open, has expired, or belongs to another browser.
var errStepRefused = errors.New("tfa step refused")

// tfaStep is the pending second step of a sign-in. It travels in the form
// sealed with SESSION_SECRET (the browser cannot read the partial ticket)
// and is never stored as a session. It is single-use: ID is claimed when
// an answer is sent to PVE, and stays claimed once it gave a session. It
// is bound to the browser that started it: Bind is the SHA-256 of the
// nonce in that browser's tfa cookie.
type tfaStep struct {
	ID       string    `json:"i"`
	Bind     string    `json:"b"`
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

// bindHash is what a step keeps of its browser's nonce.
func bindHash(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(sum[:])
}

// openStep opens the sealed step of r's form and checks that it is still
// valid and that r comes from the browser that started it. Errors wrap
// errStepRefused.
func (s *Server) openStep(r *http.Request, sealed string) (tfaStep, error) {
	if sealed == "" {
		return tfaStep{}, fmt.Errorf("%w: the form has no step", errStepRefused)
	}
	plain, err := s.cfg.Codec.OpenField("sign-in", "tfa-step", sealed)
	if err != nil {
		return tfaStep{}, fmt.Errorf("%w: %w", errStepRefused, err)
	}
	var st tfaStep
	if err := json.Unmarshal([]byte(plain), &st); err != nil {
		return tfaStep{}, fmt.Errorf("%w: decode: %w", errStepRefused, err)
	}
	if st.ID == "" || st.Bind == "" {
		return tfaStep{}, fmt.Errorf("%w: no id or binding", errStepRefused)
	}
	if !s.cfg.Now().Before(st.Expires) {
		return tfaStep{}, fmt.Errorf("%w: expired at %s", errStepRefused, st.Expires.Format(time.RFC3339))
	}
	c, err := r.Cookie(s.cookieName(tfaCookie))
	if err != nil {
		return tfaStep{}, fmt.Errorf("%w: the browser has no step cookie", errStepRefused)
	}
	if subtle.ConstantTimeCompare([]byte(bindHash(c.Value)), []byte(st.Bind)) != 1 {
		return tfaStep{}, fmt.Errorf("%w: started by another browser", errStepRefused)
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
	nonce := randomString(32, base64.RawURLEncoding.EncodeToString)
	step := tfaStep{ID: randomString(16, hex.EncodeToString), Bind: bindHash(nonce),
		Username: ch.Username, Ticket: ch.Ticket, Expires: s.cfg.Now().Add(tfaStepTTL),
		TOTP: ch.TOTP, Recovery: ch.Recovery, Next: next}
	sealed, err := s.sealStep(step)
	if err != nil {
		return fmt.Errorf("seal tfa step: %w", err)
	}
	s.writeCookie(w, tfaCookie, nonce, tfaStepTTL)
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

// stepRefused shows the sign-in form with the expired-step message.
func (s *Server) stepRefused(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Info("sign-in second step refused", "request_id", requestID(r.Context()), "client", clientAddr(r), "err", err)
	realms := s.realmList(r.Context())
	s.render(w, r, http.StatusUnauthorized, "login", loginPage{Realm: defaultRealm(realms), Realms: realms, Error: msgTFAExpired})
}

// loginTFA is the second step (POST /login/tfa): a TOTP code or a recovery
// key, checked by PVE against the partial ticket.
//
// A step gives at most one session. Its id is claimed before PVE is asked,
// so concurrent or replayed answers are refused without reaching PVE. The
// claim is given back when the answer did not produce a session (a wrong
// code, PVE unreachable), because PVE lets a partial ticket be answered
// again after a wrong code; wrong codes are limited by the same counters as
// passwords.
func (s *Server) loginTFA(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	sealed := r.PostForm.Get("step")
	st, err := s.openStep(r, sealed)
	if err != nil {
		s.stepRefused(w, r, err)
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

	att := s.attemptFor(r, st.Username)
	wait, err := s.reserve(r.Context(), att)
	if err != nil {
		return s.tfaFailed(w, r, p, st, err)
	}
	if wait > 0 {
		p.Error = throttleMessage(wait)
		s.throttled(w, r, st.Username, "second factor", wait, "tfa", p)
		return nil
	}
	claimed, err := s.cfg.StepClaims.Claim(r.Context(), st.ID, st.Expires.Sub(s.cfg.Now()))
	if err != nil || !claimed {
		s.release(r, att)
		if err != nil {
			return s.tfaFailed(w, r, p, st, fmt.Errorf("claim tfa step: %w: %w", session.ErrUnavailable, err))
		}
		s.stepRefused(w, r, fmt.Errorf("%w: already used", errStepRefused))
		return nil
	}

	// As at the password: the answer is had even if the browser hangs up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.LoginTimeout)
	defer cancel()
	ch := lxc.TFAChallenge{Username: st.Username, Ticket: st.Ticket}
	id, err := s.cfg.PVE.CompleteTFA(ctx, ch, response)
	if err == nil {
		err = s.startSession(ctx, w, r, id)
	}
	if err != nil {
		if uerr := s.unclaim(r, st.ID); uerr != nil {
			s.log.Error("sign-in: give back tfa step", "request_id", requestID(r.Context()), "err", uerr)
		}
		if lxc.ErrorCode(err) != lxc.ECredentials {
			s.release(r, att)
		}
		return s.tfaFailed(w, r, p, st, err)
	}
	s.succeeded(r, att)
	s.writeCookie(w, tfaCookie, "", -1)
	s.cfg.Metrics.SignIn("success")
	s.log.Info("audit: sign-in", "user", id.Username, "client", clientAddr(r), "outcome", "success", "second_factor", p.Mode,
		"request_id", requestID(r.Context()))
	http.Redirect(w, r, safeNext(st.Next), http.StatusSeeOther)
	return nil
}

// unclaim gives a step back for another answer, even when the browser has
// gone or PVE used up the sign-in's time.
func (s *Server) unclaim(r *http.Request, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
	defer cancel()
	return s.cfg.StepClaims.Unclaim(ctx, id)
}

// tfaFailed logs a refused second step and shows its form again with a
// curated message: a wrong code, PVE unreachable, or the counter or
// session store down (503).
func (s *Server) tfaFailed(w http.ResponseWriter, r *http.Request, p tfaPage, st tfaStep, err error) error {
	status, msg := userError(err)
	outcome := string(lxc.ErrorCode(err))
	if lxc.ErrorCode(err) == lxc.ECredentials {
		outcome, msg = "invalid_code", msgInvalidCode
	}
	s.cfg.Metrics.SignIn(outcome)
	s.log.Warn("audit: sign-in failed", "user", st.Username, "client", clientAddr(r), "step", "second factor",
		"mode", p.Mode, "status", status, "outcome", outcome, "request_id", requestID(r.Context()), "err", err)
	p.Error = msg
	s.render(w, r, status, "tfa", p)
	return nil
}
