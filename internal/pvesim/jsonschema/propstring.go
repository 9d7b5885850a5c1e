package jsonschema

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// PropFormat is the format of a property string: its keys.
type PropFormat map[string]Prop

// PropError is a property string PVE refuses; Error() is PVE's message
// (an exception text, with the per-key errors after "format error").
type PropError struct {
	Msg string
}

func (e *PropError) Error() string { return e.Msg }

var propPairRe = regexp.MustCompile(`^([^=]+)=(.+)$`)

// parseBoolean is JSONSchema::parse_boolean: "1", "on", "yes", "true" and
// their negations; anything else is kept as it is.
func parseBoolean(v string) string {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true":
		return "1"
	case "0", "off", "no", "false":
		return "0"
	}
	return v
}

// defaultKey is the key a value without "key=" belongs to.
func (f PropFormat) defaultKey() string {
	for k, p := range f {
		if p.DefaultKey {
			return k
		}
	}
	return ""
}

// ParsePropertyString is JSONSchema::parse_property_string: the value as
// a map, or a *PropError with PVE's text. path names the parameter in the
// per-key errors ("net0.name: ...").
func ParsePropertyString(f PropFormat, data, path string, reg Registry) (map[string]string, error) {
	res := map[string]string{}
	seenDefault := ""
	for _, part := range perl.Split(data, func(r rune) bool { return r == ',' }) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		if m := propPairRe.FindStringSubmatch(part); m != nil {
			k, v := m[1], m[2]
			if _, dup := res[k]; dup {
				return nil, &PropError{Msg: fmt.Sprintf("duplicate key in comma-separated list property: %s\n", k)}
			}
			p, ok := f[k]
			if !ok {
				return nil, &PropError{Msg: fmt.Sprintf("invalid key in comma-separated list property: %s\n", k)}
			}
			if p.Type == "boolean" {
				v = parseBoolean(v)
			}
			res[k] = v
			continue
		}
		if strings.Contains(part, "=") {
			return nil, &PropError{Msg: "missing key in comma-separated list property\n"}
		}
		if seenDefault != "" {
			return nil, &PropError{Msg: fmt.Sprintf("duplicate key in comma-separated list property: %s\n", seenDefault)}
		}
		dk := f.defaultKey()
		if dk == "" {
			return nil, &PropError{Msg: "value without key, but schema does not define a default key\n"}
		}
		seenDefault = dk
		if res[dk] != "" {
			return nil, &PropError{Msg: fmt.Sprintf("duplicate key in comma-separated list property: %s\n", dk)}
		}
		if f[dk].Type == "boolean" {
			part = parseBoolean(part)
		}
		res[dk] = part
	}
	errs := map[string]string{}
	for _, k := range perl.SortedKeys(f) {
		sub := k
		if path != "" {
			sub = path + "." + k
		}
		v, ok := res[k]
		if !ok {
			if !f[k].Optional {
				AddError(errs, sub, "property is missing and it is not optional")
			}
			continue
		}
		CheckString(errs, sub, f[k], v, reg)
	}
	if len(errs) > 0 {
		var b strings.Builder
		b.WriteString("format error\n")
		for _, k := range perl.SortedKeys(errs) {
			fmt.Fprintf(&b, "%s: %s\n", k, errs[k])
		}
		return nil, &PropError{Msg: b.String()}
	}
	return res, nil
}

// PrintPropertyString is JSONSchema::print_property_string: the default
// key first (bare), then the required keys, then the others, each group
// sorted.
func PrintPropertyString(f PropFormat, data map[string]string) string {
	var parts []string
	done := map[string]bool{}
	add := func(k string) {
		v, ok := data[k]
		if !ok || done[k] {
			return
		}
		done[k] = true
		if f[k].DefaultKey {
			parts = append(parts, v)
			return
		}
		parts = append(parts, k+"="+v)
	}
	if dk := f.defaultKey(); dk != "" {
		add(dk)
	}
	keys := perl.SortedKeys(data)
	for _, k := range keys {
		if p, ok := f[k]; ok && !p.Optional {
			add(k)
		}
	}
	for _, k := range keys {
		add(k)
	}
	return strings.Join(parts, ",")
}
