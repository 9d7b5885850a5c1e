package pvesim

import (
	"regexp"
	"strconv"
)

// VNC tickets (AccessControl.pm assemble_vnc_ticket / verify_vnc_ticket):
//
//	PVEVNC:<8 upper-case hex of unix time>::<base64 RSA signature>
//
// The signature covers "PVEVNC:<hex>:<authid>:<path>:<port>", so the
// ticket is bound to the user, the path (/vms/<vmid>) and termproxy's
// port without naming them. It is accepted while -20 < age < 40 seconds.

const (
	vncTicketMinAge = -20
	vncTicketMaxAge = 40
)

var vncTicketRe = regexp.MustCompile(`^(PVEVNC:([A-Z0-9]{8}))::([^:\s]+)$`)

// assembleVNCTicket signs a console ticket for authid on path and port.
func (k *ticketKeys) assembleVNCTicket(authid, path string, port int, unix int64) string {
	plain := "PVEVNC:" + hexTime(unix)
	return plain + "::" + k.sign(vncSecret(plain, authid, path, port))
}

// verifyVNCTicket checks a console ticket against authid, path and port.
func (k *ticketKeys) verifyVNCTicket(ticket, authid, path string, port int, unix int64) bool {
	m := vncTicketRe.FindStringSubmatch(ticket)
	if m == nil || !k.verifySig(vncSecret(m[1], authid, path, port), m[3]) {
		return false
	}
	age := unix - parseHexTime(m[2])
	return age > vncTicketMinAge && age < vncTicketMaxAge
}

func vncSecret(plain, authid, path string, port int) string {
	return plain + ":" + authid + ":" + path + ":" + strconv.Itoa(port)
}
