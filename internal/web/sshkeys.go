package web

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// OpenSSH public keys, checked before PVE is asked (PVE runs ssh-keygen -l
// on each line and answers "SSH public key validation error").

// sshKeyTypes are the key types OpenSSH's authorized_keys takes.
var sshKeyTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true, "ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true,
	"ecdsa-sha2-nistp521": true, "sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
	"ssh-dss": true,
}

// validSSHKeys checks every line that is not blank; it returns the first
// bad line's number (from 1).
func validSSHKeys(keys string) (int, bool) {
	for i, line := range strings.Split(keys, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !validSSHKey(line) {
			return i + 1, false
		}
	}
	return 0, true
}

// validSSHKey reports whether line is "[options] type base64 [comment]"
// with a key blob that names the same type.
func validSSHKey(line string) bool {
	f := strings.Fields(line)
	for len(f) >= 2 && !sshKeyTypes[f[0]] {
		f = f[1:] // authorized_keys options
	}
	if len(f) < 2 {
		return false
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(blob) < 4 {
		return false
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(n) > uint64(len(blob)-4) || !bytes.Equal(blob[4:4+n], []byte(f[0])) {
		return false
	}
	return len(blob) > 4+int(n)+4 // the key material follows the type
}
