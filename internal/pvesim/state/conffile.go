package state

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// Conf is a container's configuration file, nodes/<node>/lxc/<vmid>.conf
// (pve-container parse_pct_config and write_pct_config): the current
// options, the [pve:pending] section and the snapshot sections. Values
// are kept as the file reads back: "description" decoded, one "\n" after
// each of its lines; integers and booleans normalised.
type Conf struct {
	Values    map[string]string
	Pending   map[string]string // "delete" lists pending deletions ("a,!b": '!' forces)
	Snapshots map[string]map[string]string
}

// NewConf is an empty configuration.
func NewConf() *Conf {
	return &Conf{Values: map[string]string{}, Pending: map[string]string{}, Snapshots: map[string]map[string]string{}}
}

// Clone returns a deep copy of c.
func (c *Conf) Clone() *Conf {
	out := NewConf()
	for k, v := range c.Values {
		out.Values[k] = v
	}
	for k, v := range c.Pending {
		out.Pending[k] = v
	}
	for name, snap := range c.Snapshots {
		m := map[string]string{}
		for k, v := range snap {
			m[k] = v
		}
		out.Snapshots[name] = m
	}
	return out
}

// skipKeys are never written as "key: value" lines.
var skipKeys = map[string]bool{"digest": true, "description": true, "pending": true, "snapshots": true,
	"snapname": true, "env": true, "lxc": true}

// renderSection is write_pct_config's generate_raw_config.
func renderSection(values map[string]string) string {
	var b strings.Builder
	for _, line := range perl.Split(values["description"], func(r rune) bool { return r == '\n' }) {
		b.WriteString("#" + EncodeText(line) + "\n")
	}
	for _, k := range perl.SortedKeys(values) {
		if skipKeys[k] {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", k, values[k])
	}
	if env := values["env"]; env != "" {
		for _, v := range strings.FieldsFunc(env, func(r rune) bool { return r == 0 }) {
			b.WriteString("lxc.environment.runtime: " + v + "\n")
		}
	}
	return b.String()
}

// Render is the file's text.
func (c *Conf) Render() string {
	raw := renderSection(c.Values)
	if len(c.Pending) > 0 {
		raw += "\n[pve:pending]\n" + renderSection(c.Pending)
	}
	for _, name := range perl.SortedKeys(c.Snapshots) {
		raw += "\n[" + name + "]\n" + renderSection(c.Snapshots[name])
	}
	return raw
}

// Digest is the SHA-1 of the file's text, as PVE reports it.
func (c *Conf) Digest() string {
	sum := sha1.Sum([]byte(c.Render()))
	return hex.EncodeToString(sum[:])
}

var (
	pendingHeadRe = regexp.MustCompile(`(?i)^\[pve:pending\]\s*$`)
	snapHeadRe    = regexp.MustCompile(`(?i)^\[([a-z][a-z0-9_\-]+)\]\s*$`)
	lxcLineRe     = regexp.MustCompile(`^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$`)
	descLineRe    = regexp.MustCompile(`^(description):\s*(.*\S)\s*$`)
	deleteLineRe  = regexp.MustCompile(`^delete:\s*(.*\S)\s*$`)
	keyLineRe     = regexp.MustCompile(`^([a-z][a-z_]*\d*):\s*(.+?)\s*$`)
	blankRe       = regexp.MustCompile(`^\s*$`)
)

// ParseConf is parse_pct_config (non-strict): what PVE reads from raw.
func ParseConf(raw string, keys map[string]ConfigKey) *Conf {
	c := NewConf()
	cur := c.Values
	section := ""
	descr := ""
	flush := func() {
		if descr != "" {
			cur["description"] = descr
		}
		descr = ""
	}
	for _, line := range perl.Split(raw, func(r rune) bool { return r == '\n' }) {
		if blankRe.MatchString(line) {
			continue
		}
		if pendingHeadRe.MatchString(line) {
			flush()
			section, cur = "pending", map[string]string{}
			c.Pending = cur
			continue
		}
		if m := snapHeadRe.FindStringSubmatch(line); m != nil {
			flush()
			section, cur = m[1], map[string]string{}
			c.Snapshots[m[1]] = cur
			continue
		}
		if rest, ok := strings.CutPrefix(line, "#"); ok {
			descr += DecodeText(rest) + "\n"
			continue
		}
		if m := lxcLineRe.FindStringSubmatch(line); m != nil {
			if m[1] == "lxc.environment.runtime" {
				if old, ok := cur["env"]; ok {
					cur["env"] = old + "\x00" + m[3]
				} else {
					cur["env"] = m[3]
				}
			}
			continue // other raw lxc.* keys are not modelled
		}
		if m := descLineRe.FindStringSubmatch(line); m != nil {
			descr += DecodeText(m[2])
			continue
		}
		if m := deleteLineRe.FindStringSubmatch(line); m != nil {
			if section == "pending" {
				cur["delete"] = m[1]
			}
			continue
		}
		if m := keyLineRe.FindStringSubmatch(line); m != nil {
			cur[m[1]] = normaliseValue(keys, m[1], m[2])
		}
	}
	flush()
	return c
}

// normaliseValue is check_type: integers as Perl's int() prints them,
// booleans as 0/1; anything it refuses stays as written (a warning in
// PVE).
func normaliseValue(keys map[string]ConfigKey, key, value string) string {
	k, ok := LookupKey(keys, key)
	if !ok {
		return value
	}
	switch k.Type {
	case "boolean":
		switch strings.ToLower(value) {
		case "1", "on", "yes", "true":
			return "1"
		case "0", "off", "no", "false":
			return "0"
		}
	case "integer":
		if isDigits(value) {
			n, err := strconv.ParseInt(value, 10, 64)
			if err == nil {
				return strconv.FormatInt(n, 10)
			}
		}
	}
	return value
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// JSONValue is an option's value as PVE's JSON shows it: integers and
// booleans as numbers (check_type made them Perl numbers), everything
// else, "number" options included, as strings.
func JSONValue(keys map[string]ConfigKey, key, value string) any {
	k, ok := LookupKey(keys, key)
	if !ok || (k.Type != "integer" && k.Type != "boolean") {
		return value
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return value
	}
	return n
}

// EncodeText is PVE::Tools::encode_text: control and non-ASCII bytes,
// ':' and '%' as %XX.
func EncodeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '%' && c != ':' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// DecodeText is PVE::Tools::decode_text (invalid escapes stay as they are).
func DecodeText(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
