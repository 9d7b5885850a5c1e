// Package jsonschema is the part of PVE::JSONSchema the simulator needs:
// parameter descriptions, PVE's checks of scalar values with its error
// texts, the registered string formats, property strings ("key=value,..."
// values such as net0 or rootfs) and disk sizes. It imports only the
// standard library and package perl.
package jsonschema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// Prop describes one parameter or one key of a property string, as in
// the API schema.
type Prop struct {
	Type      string // "string", "boolean", "integer", "number"
	Optional  bool
	MaxLength int // 0: no limit
	MinLength int
	Minimum   *float64
	Maximum   *float64
	Enum      []string
	Format    string // a registered format, optionally with "-list" or "-opt"
	Pattern   string // anchored like PVE: ^(?:pattern)$
	Requires  string // another property that must be present with this one
	// Inline is a property-string format given in place (the schema shows
	// "format" as an object): the value is parsed as "key=value,...".
	Inline PropFormat
	// Indexed is the number of instances of a "name[n]" parameter
	// (net[n]: net0 .. net31).
	Indexed int
	// DefaultKey marks the key of a property string that may be given
	// without "key=".
	DefaultKey bool
}

// F returns a pointer to f, for Minimum and Maximum.
func F(f float64) *float64 { return &f }

var (
	integerRe = regexp.MustCompile(`^[+-]?\d+$`)
	numberRe  = regexp.MustCompile(`^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$`)
)

// IsNumber is JSONSchema::is_number.
func IsNumber(s string) bool { return numberRe.MatchString(s) }

// IsInteger is JSONSchema::is_integer.
func IsInteger(s string) bool { return integerRe.MatchString(s) }

// AddError is JSONSchema::add_error; several messages for one key are
// joined with a literal backslash-n, as PVE does.
func AddError(errs map[string]string, path, msg string) {
	if path == "" {
		path = "_root"
	}
	if old, ok := errs[path]; ok {
		errs[path] = old + `\n` + msg
	} else {
		errs[path] = msg
	}
}

// CheckString is check_prop for a scalar (string) value s of parameter
// name: type, format, pattern, lengths, bounds and enumeration, in PVE's
// order, adding at most one message to errs.
func CheckString(errs map[string]string, name string, pr Prop, s string, reg Registry) {
	switch pr.Type {
	case "boolean":
		if s != "1" && s != "0" {
			AddError(errs, name, fmt.Sprintf("type check ('boolean') failed - got '%s'", s))
			return
		}
	case "integer":
		if !integerRe.MatchString(s) {
			AddError(errs, name, fmt.Sprintf("type check ('integer') failed - got '%s'", s))
			return
		}
	case "number":
		if !numberRe.MatchString(s) {
			AddError(errs, name, fmt.Sprintf("type check ('number') failed - got '%s'", s))
			return
		}
	}
	if pr.Inline != nil {
		if _, err := ParsePropertyString(pr.Inline, s, name, reg); err != nil {
			AddError(errs, name, "invalid format - "+err.Error())
			return
		}
	}
	if pr.Format != "" {
		if msg := reg.Check(pr.Format, s); msg != "" {
			AddError(errs, name, "invalid format - "+msg)
			return
		}
	}
	if pr.Pattern != "" {
		if !patternRegexp(pr.Pattern).MatchString(s) {
			AddError(errs, name, "value does not match the regex pattern")
			return
		}
	}
	if pr.MaxLength > 0 && utf8.RuneCountInString(s) > pr.MaxLength {
		AddError(errs, name, fmt.Sprintf("value may only be %d characters long", pr.MaxLength))
		return
	}
	if pr.MinLength > 0 && utf8.RuneCountInString(s) < pr.MinLength {
		AddError(errs, name, fmt.Sprintf("value must be at least %d characters long", pr.MinLength))
		return
	}
	if numberRe.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		if pr.Maximum != nil && f > *pr.Maximum {
			AddError(errs, name, "value must have a maximum value of "+perl.Float(*pr.Maximum))
			return
		}
		if pr.Minimum != nil && f < *pr.Minimum {
			AddError(errs, name, "value must have a minimum value of "+perl.Float(*pr.Minimum))
			return
		}
	}
	if len(pr.Enum) > 0 {
		for _, e := range pr.Enum {
			if e == s {
				return
			}
		}
		AddError(errs, name, fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'",
			s, strings.Join(pr.Enum, ", ")))
	}
}

var patternCache sync.Map // pattern -> *regexp.Regexp

// patternRegexp compiles a schema pattern anchored like PVE (m/^$pattern$/).
func patternRegexp(p string) *regexp.Regexp {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(`^(?:` + p + `)$`)
	patternCache.Store(p, re)
	return re
}
