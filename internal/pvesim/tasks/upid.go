package tasks

import (
	"regexp"
	"strconv"
)

// upidRe is PVE::UPID::decode's pattern.
var upidRe = regexp.MustCompile(`^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$`)

// UPID is what PVE::UPID::decode returns.
type UPID struct {
	Node                   string
	PID, PStart, StartTime int64
	Type, ID, User         string
}

// DecodeUPID parses a UPID; ok is false if it does not parse.
func DecodeUPID(upid string) (UPID, bool) {
	m := upidRe.FindStringSubmatch(upid)
	if m == nil {
		return UPID{}, false
	}
	hex := func(s string) int64 {
		v, _ := strconv.ParseInt(s, 16, 64)
		return v
	}
	return UPID{Node: m[1], PID: hex(m[3]), PStart: hex(m[4]), StartTime: hex(m[5]),
		Type: m[6], ID: m[7], User: m[8]}, true
}
