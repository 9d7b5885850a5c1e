package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
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

// TFAFailureLimit is proxmox-tfa's tfa_failure_limit: after this many
// failed answers every second factor is refused for an hour.
const TFAFailureLimit = 100

const (
	totpStepSecs     = 30
	totpDigits       = 6
	totpFailureLimit = 8    // proxmox-tfa totp_failure_limit
	tfaLockSecs      = 3600 // tfa_failure_lock_time
	recoveryKeysMax  = 10   // PVE generates exactly 10
	totpSecretMin    = 16   // base32 characters (80 bits), as the GUI demands

	// webauthnRPID is the relying party id of the simulated datacenter.cfg
	// "webauthn: id=..." setting.
	webauthnRPID = "pve.lab.example"
)

var recoveryKeyRe = regexp.MustCompile(`^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$`)

// HasFactors reports whether u configures any second factor.
func (u User) HasFactors() bool {
	return u.TOTPSecret != "" || u.RecoveryKeys != nil || u.WebAuthn || u.Yubico
}

// CheckFactors validates u's second factors.
func (u User) CheckFactors() error {
	if u.TOTPSecret != "" {
		if _, err := DecodeTOTPSecret(u.TOTPSecret); err != nil {
			return err
		}
	}
	if u.RecoveryKeys != nil {
		if err := CheckRecoveryKeys(u.RecoveryKeys); err != nil {
			return err
		}
	}
	return nil
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
	if !u.HasFactors() {
		return nil
	}
	st := &tfaState{lastStep: math.MinInt64, yubico: u.Yubico}
	if u.TOTPSecret != "" {
		st.totpKey, _ = DecodeTOTPSecret(u.TOTPSecret)
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
		cur := TOTPCounter(unix)
		for step := cur - 1; step <= cur+1; step++ {
			if subtle.ConstantTimeCompare([]byte(TOTPCode(st.totpKey, step)), []byte(value)) != 1 {
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
// log only.
func (d *Directory) verifySecondFactor(u *account, response string) string {
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
		d.log.Info("tfa", "msg", fmt.Sprintf("no 2nd factor available for user '%s'", u.id))
		return "failed 2nd factor\n"
	}
	now := d.now().Unix()
	if st.lockedUntil > now {
		d.log.Info("tfa", "msg", fmt.Sprintf("refusing 2nd factor for user '%s'", u.id))
		return "failed 2nd factor\n"
	}
	var detail string
	switch kind {
	case "totp":
		if st.totpLocked {
			d.log.Info("tfa", "msg", fmt.Sprintf("TOTP of user '%s' is locked", u.id))
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
	d.log.Info("tfa", "msg", fmt.Sprintf("error in 2nd factor authentication for user '%s': %s", u.id, detail))
	st.tfaFailures++
	totpLimit := kind == "totp" && st.totpFailures >= totpFailureLimit
	tfaLimit := st.tfaFailures >= TFAFailureLimit
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
// without second factors fails with "no such challenge".
func (d *Directory) firstStepTFA(u *account, otp string, hasOTP bool) (challenge, errMsg string) {
	ch := u.tfa.challenge()
	if hasOTP {
		if ch == nil {
			return "", "no such challenge\n"
		}
		if msg := d.verifySecondFactor(u, otp); msg != "" {
			return "", msg
		}
	}
	if ch == nil {
		return "", ""
	}
	return ch.json(), ""
}

// UnlockTFA lifts a user's TOTP lock and the one-hour TFA lock and resets
// the failure counters, like "pveum user tfa unlock".
func (d *Directory) UnlockTFA(userid string) error {
	u, ok := d.users[userid]
	if !ok {
		return fmt.Errorf("no such user ('%s')", userid)
	}
	if u.tfa == nil {
		return fmt.Errorf("user '%s' has no second factors", userid)
	}
	u.tfa.totpLocked, u.tfa.lockedUntil = false, 0
	u.tfa.totpFailures, u.tfa.tfaFailures = 0, 0
	return nil
}
