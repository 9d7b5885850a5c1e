package pvesim

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Tickets and CSRF tokens, as in pve-common PVE/Ticket.pm and
// pve-access-control PVE/AccessControl.pm.
//
//	ticket: PVE:<data, ':' escaped as %3A>:<8 upper-case hex of unix time>::<base64 RSA signature>
//	CSRF:   <8 upper-case hex of unix time>:<base64 HMAC-SHA256 of "time:userid", no padding>
//
// Both are accepted while -300 < age < 7200 seconds (strict bounds, as in
// verify_rsa_ticket), measured with Options.Now. The signature covers the
// plain part, plus ":<aad>" when additional authenticated data is used
// (partial TFA tickets bind the userid that way).
//
// Not modelled: the daily rotation of the cluster auth key (tickets signed
// with the previous key stay valid for their lifetime anyway).

const (
	ticketLifetimeSecs  = 2 * 3600 // $ticket_lifetime
	authGracePeriodSecs = 5 * 60   // $auth_graceperiod
	authKeyBits         = 2048
)

var (
	ticketRe      = regexp.MustCompile(`^(PVE:\S+)::([^:\s]+)$`)
	ticketPlainRe = regexp.MustCompile(`^PVE:(?:(\S+):)?([A-Z0-9]{8})$`)
	csrfRe        = regexp.MustCompile(`^([A-Z0-9]{8}):(\S+)$`)
)

// ticketKeys holds the per-Sim secrets (authkey.key and pve-www.key).
type ticketKeys struct {
	priv       *rsa.PrivateKey
	csrfSecret []byte
}

func newTicketKeys() (*ticketKeys, error) {
	priv, err := rsa.GenerateKey(rand.Reader, authKeyBits)
	if err != nil {
		return nil, fmt.Errorf("pvesim: generate auth key: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("pvesim: generate csrf secret: %w", err)
	}
	return &ticketKeys{priv: priv, csrfSecret: secret}, nil
}

// hexTime is sprintf("%08X", time).
func hexTime(unix int64) string {
	return fmt.Sprintf("%08X", unix)
}

// ageOK is the strict lifetime window used for tickets and CSRF tokens.
func ageOK(age int64) bool {
	return age > -authGracePeriodSecs && age < ticketLifetimeSecs
}

// parseHexTime is Perl's hex() on the timestamp field; invalid digits give 0
// (and so an expired ticket).
func parseHexTime(s string) int64 {
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0
	}
	return int64(v)
}

// escapeTicketData is uri_escape($data, ':').
func escapeTicketData(data string) string {
	return strings.ReplaceAll(data, ":", "%3A")
}

// unescapeTicketData is uri_unescape.
func unescapeTicketData(data string) string {
	if v, err := url.PathUnescape(data); err == nil {
		return v
	}
	return data
}

func (k *ticketKeys) sign(full string) string {
	sum := sha256.Sum256([]byte(full))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		// Cannot happen with a valid key.
		panic("pvesim: RSA sign: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func (k *ticketKeys) verifySig(full, sigB64 string) bool {
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		sig, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(sigB64, "="))
		if err != nil {
			return false
		}
	}
	sum := sha256.Sum256([]byte(full))
	return rsa.VerifyPKCS1v15(&k.priv.PublicKey, crypto.SHA256, sum[:], sig) == nil
}

// assembleTicket is assemble_rsa_ticket with prefix "PVE". aad, when not
// empty, is signed but not part of the ticket.
func (k *ticketKeys) assembleTicket(data, aad string, unix int64) string {
	plain := "PVE:" + escapeTicketData(data) + ":" + hexTime(unix)
	full := plain
	if aad != "" {
		full += ":" + aad
	}
	return plain + "::" + k.sign(full)
}

// verifyTicket is verify_rsa_ticket: it returns the (unescaped) data and the
// age in seconds, or ok=false for a malformed, forged or expired ticket.
func (k *ticketKeys) verifyTicket(ticket, aad string, unix int64) (data string, age int64, ok bool) {
	m := ticketRe.FindStringSubmatch(ticket)
	if m == nil {
		return "", 0, false
	}
	plain, sig := m[1], m[2]
	full := plain
	if aad != "" {
		full += ":" + aad
	}
	if !k.verifySig(full, sig) {
		return "", 0, false
	}
	pm := ticketPlainRe.FindStringSubmatch(plain)
	if pm == nil || pm[1] == "" {
		return "", 0, false
	}
	age = unix - parseHexTime(pm[2])
	if !ageOK(age) {
		return "", 0, false
	}
	return unescapeTicketData(pm[1]), age, true
}

func (k *ticketKeys) csrfDigest(stamp, userid string) string {
	mac := hmac.New(sha256.New, k.csrfSecret)
	mac.Write([]byte(stamp + ":" + userid))
	return base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}

// assembleCSRF is assemble_csrf_prevention_token.
func (k *ticketKeys) assembleCSRF(userid string, unix int64) string {
	stamp := hexTime(unix)
	return stamp + ":" + k.csrfDigest(stamp, userid)
}

// verifyCSRF is verify_csrf_prevention_token (tied to the userid, not to
// the ticket).
func (k *ticketKeys) verifyCSRF(userid, token string, unix int64) bool {
	m := csrfRe.FindStringSubmatch(token)
	if m == nil {
		return false
	}
	want := k.csrfDigest(m[1], userid)
	if !hmac.Equal([]byte(want), []byte(m[2])) {
		return false
	}
	return ageOK(unix - parseHexTime(m[1]))
}
