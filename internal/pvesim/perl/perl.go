// Package perl holds the bits of Perl semantics PVE's behaviour depends on
// (truthiness, split and split_list, number stringification), shared by
// the simulator's packages. It imports only the standard library.
package perl

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// True is Perl truthiness of a scalar: undefined, "" and "0" are false.
func True(s string, defined bool) bool {
	return defined && s != "" && s != "0"
}

// Split splits like Perl's split with no limit: trailing empty fields are
// dropped.
func Split(s string, sep func(rune) bool) []string {
	var out []string
	start := 0
	for i, r := range s {
		if sep(r) {
			out = append(out, s[start:i])
			start = i + utf8.RuneLen(r)
		}
	}
	out = append(out, s[start:])
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// SplitList is PVE::Tools::split_list: NUL-separated if the string holds a
// NUL, otherwise separated by commas, semicolons and white space.
func SplitList(s string) []string {
	if strings.Contains(s, "\x00") {
		return Split(s, func(r rune) bool { return r == 0 })
	}
	s = strings.NewReplacer(",", " ", ";", " ").Replace(s)
	return strings.Fields(s)
}

// Number formats a JSON number literal as Perl stringifies it: integers
// stay as written, others go through "%.15g".
func Number(lit string) string {
	if _, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 15, 64)
}

// Float prints a number as Perl would in a message.
func Float(f float64) string {
	return strconv.FormatFloat(f, 'g', 15, 64)
}

// SortedKeys returns the keys of m in sorted order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
