package pvesim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Second factors and the two-step login, PVE's "new" TFA flow (the only
// one since 8.0): AccessControl::authenticate_user/authenticate_2nd_new_do
// in pve-access-control on top of proxmox-tfa's TfaConfig (priv/tfa.cfg).
//
// A user's factors: one TOTP key (RFC 6238, HMAC-SHA1, 6 digits, 30 s
// steps, accepted one step either side), a set of recovery keys (single
// use; the challenge lists the indices still unused), a WebAuthn security
// key and a Yubico OTP entry. The last two only exist to show up in
// challenges: a WebAuthn assertion cannot be produced against the
// simulator, and PVE only accepts "yubico:" answers in realms that
// enforce Yubico, which none here does.
//
// Counters as in proxmox-tfa: a failed or reused TOTP value counts
// towards the TOTP limit (8, then TOTP is locked until a recovery key is
// used or UnlockTFA runs); every failed answer counts towards the TFA
// limit (100, then every second factor is refused for an hour). A
// successful answer resets them.

const (
	totpStepSecs     = 30
	totpDigits       = 6
	totpFailureLimit = 8    // proxmox-tfa totp_failure_limit
	tfaFailureLimit  = 100  // tfa_failure_limit
	tfaLockSecs      = 3600 // tfa_failure_lock_time
	recoveryKeysMax  = 10   // PVE generates exactly 10
	totpSecretMin    = 16   // base32 characters (80 bits), as the GUI demands

	// webauthnRPID is the relying party id of the simulated datacenter.cfg
	// "webauthn: id=..." setting.
	webauthnRPID = "pve.lab.example"
)

var recoveryKeyRe = regexp.MustCompile(`^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$`)

// hasFactors reports whether u configures any second factor.
func (u User) hasFactors() bool {
	return u.TOTPSecret != "" || u.RecoveryKeys != nil || u.WebAuthn || u.Yubico
}

// checkFactors validates u's second factors.
func (u User) checkFactors() error {
	if u.TOTPSecret != "" {
		if _, err := decodeTOTPSecret(u.TOTPSecret); err != nil {
			return err
		}
	}
	if u.RecoveryKeys != nil {
		if err := checkRecoveryKeys(u.RecoveryKeys); err != nil {
			return err
		}
	}
	return nil
}

// decodeTOTPSecret decodes a base32 TOTP secret (RFC 4648 alphabet,
// upper or lower case, '=' padding optional).
func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.TrimRight(secret, "="))
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') {
			return nil, fmt.Errorf("TOTP secret %q is not base32 (A-Z, 2-7)", secret)
		}
	}
	if len(s) < totpSecretMin {
		return nil, fmt.Errorf("TOTP secret %q is too short (at least %d base32 characters)", secret, totpSecretMin)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if n := len(s) % 8; err != nil || n == 1 || n == 3 || n == 6 {
		return nil, fmt.Errorf("TOTP secret %q is not valid base32", secret)
	}
	return key, nil
}

// checkRecoveryKeys validates recovery keys in PVE's form.
func checkRecoveryKeys(keys []string) error {
	if len(keys) == 0 || len(keys) > recoveryKeysMax {
		return fmt.Errorf("want 1 to %d recovery keys, got %d", recoveryKeysMax, len(keys))
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if !recoveryKeyRe.MatchString(k) {
			return fmt.Errorf("recovery key %q is not like xxxx-xxxx-xxxx-xxxx (lower-case hex)", k)
		}
		if seen[k] {
			return fmt.Errorf("recovery key %q given twice", k)
		}
		seen[k] = true
	}
	return nil
}

// totpCode is the RFC 6238 (RFC 4226 HOTP) value of key at counter.
func totpCode(key []byte, counter int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, bin%uint32(math.Pow10(totpDigits)))
}

// totpCounter is the TOTP time step of a unix time.
func totpCounter(unix int64) int64 {
	c := unix / totpStepSecs
	if unix < 0 && unix%totpStepSecs != 0 {
		c--
	}
	return c
}

// tfaState is one user's entry of priv/tfa.cfg plus its failure counters.
type tfaState struct {
	totpKey      []byte   // nil: no TOTP entry
	lastStep     int64    // last accepted TOTP counter ("last-count")
	recovery     []string // keys by index, "" once used; nil: no recovery set
	webauthnCred []byte   // credential id of the security key; nil: none
	yubico       bool

	totpFailures int
	tfaFailures  int
	totpLocked   bool
	lockedUntil  int64 // unix time; every factor is refused before it
}

// newTFAState builds the factors of u (validated); nil when u has none.
func newTFAState(u User) *tfaState {
	if !u.hasFactors() {
		return nil
	}
	st := &tfaState{lastStep: math.MinInt64, yubico: u.Yubico}
	if u.TOTPSecret != "" {
		st.totpKey, _ = decodeTOTPSecret(u.TOTPSecret)
	}
	if u.RecoveryKeys != nil {
		st.recovery = append([]string{}, u.RecoveryKeys...)
	}
	if u.WebAuthn {
		sum := sha256.Sum256([]byte("pvesim webauthn credential " + u.ID))
		st.webauthnCred = sum[:]
	}
	return st
}

// tfaChallenge is proxmox-tfa's TfaChallenge as serialised into the
// partial ticket (kebab-case, absent members left out).
type tfaChallenge struct {
	TOTP     bool               `json:"totp,omitempty"`
	Recovery *[]int             `json:"recovery,omitempty"`
	WebAuthn *webauthnChallenge `json:"webauthn,omitempty"`
	Yubico   bool               `json:"yubico,omitempty"`
}

// webauthnChallenge is webauthn-rs's RequestChallengeResponse.
type webauthnChallenge struct {
	PublicKey webauthnRequest `json:"publicKey"`
}

type webauthnRequest struct {
	Challenge        string               `json:"challenge"`
	Timeout          int                  `json:"timeout"`
	RPID             string               `json:"rpId"`
	AllowCredentials []webauthnCredential `json:"allowCredentials"`
	UserVerification string               `json:"userVerification"`
}

type webauthnCredential struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// challenge is TfaUserData::challenge: nil without factors. TOTP is
// offered whenever an entry exists, locked or not (proxmox-tfa does not
// look at the lock here); recovery lists the unused indices, an empty
// list once all are used.
func (st *tfaState) challenge() *tfaChallenge {
	if st == nil {
		return nil
	}
	ch := &tfaChallenge{TOTP: st.totpKey != nil, Yubico: st.yubico}
	if st.recovery != nil {
		idx := []int{}
		for i, k := range st.recovery {
			if k != "" {
				idx = append(idx, i)
			}
		}
		ch.Recovery = &idx
	}
	if st.webauthnCred != nil {
		var raw [32]byte
		_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails on supported platforms
		wa := &webauthnChallenge{PublicKey: webauthnRequest{
			Challenge: base64.RawURLEncoding.EncodeToString(raw[:]),
			Timeout:   60000,
			RPID:      webauthnRPID,
			AllowCredentials: []webauthnCredential{
				{Type: "public-key", ID: base64.RawURLEncoding.EncodeToString(st.webauthnCred)},
			},
			UserVerification: "discouraged",
		}}
		ch.WebAuthn = wa
	}
	return ch
}

func (ch *tfaChallenge) json() string {
	b, err := json.Marshal(ch)
	if err != nil {
		panic("pvesim: marshal TFA challenge: " + err.Error())
	}
	return string(b)
}

// verifyTOTP is TfaUserData::verify_totp: the current step and one either
// side, a value of a step not newer than the last accepted one is
// rejected. It returns the error or "".
func (st *tfaState) verifyTOTP(value string, unix int64) string {
	if st.totpKey != nil {
		cur := totpCounter(unix)
		for step := cur - 1; step <= cur+1; step++ {
			if subtle.ConstantTimeCompare([]byte(totpCode(st.totpKey, step)), []byte(value)) != 1 {
				continue
			}
			if step <= st.lastStep {
				st.totpFailures++
				return "rejecting reused TOTP value"
			}
			st.lastStep = step
			st.totpFailures = 0
			return ""
		}
	}
	st.totpFailures++
	return "totp verification failed"
}

// useRecovery is TfaUserData::verify_recovery: a matching unused key is
// used up and lifts the TOTP and TFA locks.
func (st *tfaState) useRecovery(value string) string {
	for i, k := range st.recovery {
		if k != "" && subtle.ConstantTimeCompare([]byte(k), []byte(value)) == 1 {
			st.recovery[i] = ""
			st.totpLocked = false
			st.lockedUntil = 0
			st.totpFailures = 0
			return ""
		}
	}
	return "recovery verification failed"
}

// verifySecondFactor checks a typed TFA response ("totp:123456",
// "recovery:xxxx-...", "webauthn:{...}", "u2f:{...}") for u, like
// TfaConfig::verify behind authentication_verify2, and returns
// AccessControl's die message or "" on success. The detail goes to the
// log only. Called with s.mu held.
func (s *Sim) verifySecondFactor(u *userEntry, response string) string {
	kind, value, ok := strings.Cut(response, ":")
	switch {
	case !ok || (kind != "totp" && kind != "recovery" && kind != "webauthn" && kind != "u2f"):
		// No counting: the response is refused before any factor is tried.
		return "invalid tfa response\n"
	case (kind == "webauthn" || kind == "u2f") && !json.Valid([]byte(value)):
		return fmt.Sprintf("invalid %s response: not JSON\n", kind)
	}
	st := u.tfa
	if st == nil {
		s.log.Info("tfa", "msg", fmt.Sprintf("no 2nd factor available for user '%s'", u.id))
		return "failed 2nd factor\n"
	}
	now := s.nowUnix()
	if st.lockedUntil > now {
		s.log.Info("tfa", "msg", fmt.Sprintf("refusing 2nd factor for user '%s'", u.id))
		return "failed 2nd factor\n"
	}
	var detail string
	switch kind {
	case "totp":
		if st.totpLocked {
			s.log.Info("tfa", "msg", fmt.Sprintf("TOTP of user '%s' is locked", u.id))
			return "failed 2nd factor\n"
		}
		detail = st.verifyTOTP(value, now)
	case "recovery":
		detail = st.useRecovery(value)
	case "webauthn":
		if st.webauthnCred == nil {
			detail = "no webauthn factor available"
		} else {
			// No authenticator can sign a simulated challenge.
			detail = "webauthn authentication failed: invalid signature"
		}
	case "u2f":
		detail = fmt.Sprintf("no u2f factor available for user '%s'", u.id)
	}
	if detail == "" {
		st.tfaFailures = 0
		return ""
	}
	s.log.Info("tfa", "msg", fmt.Sprintf("error in 2nd factor authentication for user '%s': %s", u.id, detail))
	st.tfaFailures++
	totpLimit := kind == "totp" && st.totpFailures >= totpFailureLimit
	tfaLimit := st.tfaFailures >= tfaFailureLimit
	if totpLimit {
		st.totpLocked = true
	}
	if tfaLimit {
		st.lockedUntil = now + tfaLockSecs
	}
	switch {
	case totpLimit:
		return "failed 2nd factor: TOTP limit reached, locked\n"
	case tfaLimit:
		return "failed 1nd factor: TFA limit reached, user locked out\n"
	}
	return "failed 2nd factor\n"
}

// firstStepTFA is authenticate_2nd_new_do without a challenge, after the
// password was accepted: the challenge JSON when u has second factors
// ("" otherwise). A response given in otp is checked first; it is not
// enough on its own — the answer is still a challenge, exactly as in
// pve-access-control, so a TOTP value used here is spent. otp for a user
// without second factors fails with "no such challenge". Called with
// s.mu held.
func (s *Sim) firstStepTFA(u *userEntry, otp string, hasOTP bool) (challenge, errMsg string) {
	ch := u.tfa.challenge()
	if hasOTP {
		if ch == nil {
			return "", "no such challenge\n"
		}
		if msg := s.verifySecondFactor(u, otp); msg != "" {
			return "", msg
		}
	}
	if ch == nil {
		return "", ""
	}
	return ch.json(), ""
}

// secondStepTFA answers a tfa-challenge: the partial ticket must be valid
// (signature including the userid, 2 h lifetime) and the response right.
// Called with s.mu held.
func (s *Sim) secondStepTFA(u *userEntry, response, partial string) string {
	data, _, ok := s.keys.verifyTicket(partial, u.id, s.nowUnix())
	if !ok {
		return "permission denied - invalid PVE ticket\n"
	}
	if !strings.HasPrefix(data, "!tfa!") {
		return "bad ticket\n"
	}
	return s.verifySecondFactor(u, response)
}

// UnlockTFA lifts a user's TOTP lock and the one-hour TFA lock and resets
// the failure counters, like "pveum user tfa unlock".
func (s *Sim) UnlockTFA(userid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userid]
	if !ok {
		return fmt.Errorf("pvesim: no such user ('%s')", userid)
	}
	if u.tfa == nil {
		return fmt.Errorf("pvesim: user '%s' has no second factors", userid)
	}
	u.tfa.totpLocked, u.tfa.lockedUntil = false, 0
	u.tfa.totpFailures, u.tfa.tfaFailures = 0, 0
	return nil
}
