package access

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// TOTP (RFC 6238 on RFC 4226 HOTP) and the syntax of secrets and recovery
// keys.

// DecodeTOTPSecret decodes a base32 TOTP secret (RFC 4648 alphabet,
// upper or lower case, '=' padding optional).
func DecodeTOTPSecret(secret string) ([]byte, error) {
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

// CheckRecoveryKeys validates recovery keys in PVE's form.
func CheckRecoveryKeys(keys []string) error {
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

// TOTPCode is the RFC 6238 (RFC 4226 HOTP) value of key at counter.
func TOTPCode(key []byte, counter int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, bin%uint32(math.Pow10(totpDigits)))
}

// TOTPCounter is the TOTP time step of a unix time.
func TOTPCounter(unix int64) int64 {
	c := unix / totpStepSecs
	if unix < 0 && unix%totpStepSecs != 0 {
		c--
	}
	return c
}
