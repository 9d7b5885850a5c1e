package ops

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// sshKeyTypes are the public key types ssh-keygen -l reads.
var sshKeyTypes = map[string]bool{
	"ssh-rsa": true, "ssh-dss": true, "ssh-ed25519": true,
	"ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true,
	"sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// validateSSHKeys is PVE::Tools::validate_ssh_public_keys: every line
// that is not blank must be a public key ssh-keygen can read (optionally
// after authorized_keys options).
func validateSSHKeys(raw string) error {
	for _, line := range strings.Split(raw, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !sshKeyLine(line) {
			return state.Dief("SSH public key validation error\n")
		}
	}
	return nil
}

// sshKeyLine reports whether line holds "<type> <base64 blob> [comment]",
// the blob naming the same type.
func sshKeyLine(line string) bool {
	f := strings.Fields(line)
	for len(f) >= 2 && !sshKeyTypes[f[0]] {
		f = f[1:] // authorized_keys options come first
	}
	if len(f) < 2 {
		return false
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(blob) < 4 {
		return false
	}
	n := binary.BigEndian.Uint32(blob)
	return uint64(n) <= uint64(len(blob)-4) && bytes.Equal(blob[4:4+n], []byte(f[0]))
}
