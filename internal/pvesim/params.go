package pvesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Parameter values as the simulator sees them, mirroring what Perl ends up
// with after decode_urlencoded/decode_json:
//
//	nil            an undefined value ("key" or "key=" in a form: treated as absent)
//	string         a scalar (JSON numbers are kept as their Perl string form)
//	bool           a JSON true/false
//	[]any          an array (a repeated form key, or a JSON array)
//	map[string]any a JSON object
type params map[string]any

// str returns the scalar value of name and whether it is defined.
func (p params) str(name string) (string, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return "", false
	}
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		if t {
			return "1", true
		}
		return "0", true
	}
	return fmt.Sprint(v), true
}

// has reports whether name is defined.
func (p params) has(name string) bool {
	v, ok := p[name]
	return ok && v != nil
}

// perlTrue is Perl truthiness of a scalar: "" and "0" are false.
func perlTrue(s string, defined bool) bool {
	return defined && s != "" && s != "0"
}

// perlSplit splits like Perl's split with no limit: trailing empty fields
// are dropped.
func perlSplit(s string, sep func(rune) bool) []string {
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

// unescapeForm decodes '+' and %XX like decode_urlencoded. Invalid escapes
// are kept literally.
func unescapeForm(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// decodeURLEncoded is pveproxy's decode_urlencoded: pairs split on '&' or
// ';', each pair split on '=' Perl-style (so "a=" and "a" leave the value
// undefined and "a=b=c" keeps only "b"); a repeated key becomes an array.
func decodeURLEncoded(data string) params {
	res := params{}
	if data == "" {
		return res
	}
	for _, kv := range perlSplit(data, func(r rune) bool { return r == '&' || r == ';' }) {
		parts := perlSplit(kv, func(r rune) bool { return r == '=' })
		k := ""
		if len(parts) > 0 {
			k = unescapeForm(parts[0])
		}
		if len(parts) < 2 {
			res[k] = nil
			continue
		}
		v := any(unescapeForm(parts[1]))
		if old, ok := res[k]; ok && old != nil {
			if arr, ok := old.([]any); ok {
				v = append(arr, v)
			} else {
				v = []any{old, v}
			}
		}
		res[k] = v
	}
	return res
}

// contentType is parse_content_type: the part before the first ';' or ','.
func contentType(h string) string {
	if i := strings.IndexAny(h, ";,"); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSpace(h)
}

// decodeJSONParams decodes a JSON request body into params. The value must
// be an object.
func decodeJSONParams(body []byte) (params, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("malformed JSON string: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("garbage after JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		//lint:ignore ST1005 this is PVE's own message, kept verbatim
		return nil, fmt.Errorf("Not a HASH reference")
	}
	return params(normalizeJSON(obj).(map[string]any)), nil
}

// normalizeJSON turns json.Number into the string Perl would print for it.
func normalizeJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		return perlNumber(string(t))
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeJSON(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalizeJSON(e)
		}
		return t
	}
	return v
}

// perlNumber formats a JSON number literal as Perl stringifies it: integers
// stay as written, others go through "%.15g".
func perlNumber(lit string) string {
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

// extractParams is pveproxy's extract_params: POST and PUT take a form or
// JSON body, query parameters are merged in and override, "_dc" is dropped.
func extractParams(r *http.Request, body []byte) (params, *apiError) {
	p := params{}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if contentType(r.Header.Get("Content-Type")) == "application/json" {
			jp, err := decodeJSONParams(body)
			if err != nil {
				return nil, internalError("%s\n", err.Error())
			}
			p = jp
		} else {
			p = decodeURLEncoded(string(body))
		}
	}
	for k, v := range decodeURLEncoded(r.URL.RawQuery) {
		p[k] = v
	}
	delete(p, "_dc")
	return p, nil
}

// ---------------------------------------------------------------------------
// Parameter schema (a small subset of PVE::JSONSchema).

// prop describes one parameter, as in the apidata schema.
type prop struct {
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
}

// schema is a method's parameter schema; additionalProperties is always 0.
type schema map[string]prop

var (
	realmRe    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`)
	nodeNameRe = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	vmidRe     = regexp.MustCompile(`^[1-9][0-9]{2,8}$`)
	integerRe  = regexp.MustCompile(`^[+-]?\d+$`)
	numberRe   = regexp.MustCompile(`^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$`)
)

// formats are the registered string formats: each returns the die message
// (with trailing "\n") or "".
var formats = map[string]func(string) string{
	"pve-realm": func(v string) string {
		if !realmRe.MatchString(v) {
			return "value does not look like a valid realm\n"
		}
		return ""
	},
	"pve-priv": func(v string) string {
		if !validPrivs[v] {
			return fmt.Sprintf("invalid privilege '%s'\n", v)
		}
		return ""
	},
	"pve-node": func(v string) string {
		if !nodeNameRe.MatchString(v) {
			return "value does not look like a valid node name\n"
		}
		return ""
	},
	"pve-vmid": func(v string) string {
		if !vmidRe.MatchString(v) {
			return "value does not look like a valid VM ID\n"
		}
		return ""
	},
	"pve-userid": func(v string) string {
		if _, _, err := verifyUsername(v); err != "" {
			return err
		}
		return ""
	},
}

// splitList is PVE::Tools::split_list.
func splitList(s string) []string {
	if strings.Contains(s, "\x00") {
		return perlSplit(s, func(r rune) bool { return r == 0 })
	}
	s = strings.NewReplacer(",", " ", ";", " ").Replace(s)
	return strings.Fields(s)
}

// checkFormat is JSONSchema::check_format for named formats.
func checkFormat(format, value string) string {
	name, kind := format, ""
	if strings.HasSuffix(format, "-list") {
		name, kind = strings.TrimSuffix(format, "-list"), "list"
	} else if strings.HasSuffix(format, "-opt") {
		name, kind = strings.TrimSuffix(format, "-opt"), "opt"
	}
	fn, ok := formats[name]
	if !ok {
		return fmt.Sprintf("undefined format '%s'\n", format)
	}
	switch kind {
	case "list":
		for _, v := range splitList(value) {
			if msg := fn(v); msg != "" {
				return msg
			}
		}
	case "opt":
		if value != "" {
			return fn(value)
		}
	default:
		return fn(value)
	}
	return ""
}

// perlRef names the reference type Perl reports in type errors.
func perlRef(v any) string {
	switch v.(type) {
	case []any:
		return "ARRAY"
	case map[string]any:
		return "HASH"
	case bool:
		return "JSON::PP::Boolean"
	}
	return ""
}

// addError is JSONSchema::add_error; several messages for one key are
// joined with a literal backslash-n, as PVE does.
func addError(errs map[string]string, path, msg string) {
	if path == "" {
		path = "_root"
	}
	if old, ok := errs[path]; ok {
		errs[path] = old + `\n` + msg
	} else {
		errs[path] = msg
	}
}

// checkProp validates one value against its property description.
func checkProp(errs map[string]string, name string, pr prop, v any) {
	if v == nil {
		if !pr.Optional {
			addError(errs, name, "property is missing and it is not optional")
		}
		return
	}
	ref := perlRef(v)
	if ref != "" {
		if pr.Type == "boolean" && ref == "JSON::PP::Boolean" {
			return
		}
		addError(errs, name, fmt.Sprintf("type check ('%s') failed - got %s", pr.Type, ref))
		return
	}
	s := v.(string)
	switch pr.Type {
	case "boolean":
		if s != "1" && s != "0" {
			addError(errs, name, fmt.Sprintf("type check ('boolean') failed - got '%s'", s))
			return
		}
	case "integer":
		if !integerRe.MatchString(s) {
			addError(errs, name, fmt.Sprintf("type check ('integer') failed - got '%s'", s))
			return
		}
	case "number":
		if !numberRe.MatchString(s) {
			addError(errs, name, fmt.Sprintf("type check ('number') failed - got '%s'", s))
			return
		}
	}
	if pr.Format != "" {
		if msg := checkFormat(pr.Format, s); msg != "" {
			addError(errs, name, "invalid format - "+msg)
			return
		}
	}
	if pr.Pattern != "" {
		if !patternRegexp(pr.Pattern).MatchString(s) {
			addError(errs, name, "value does not match the regex pattern")
			return
		}
	}
	if pr.MaxLength > 0 && utf8.RuneCountInString(s) > pr.MaxLength {
		addError(errs, name, fmt.Sprintf("value may only be %d characters long", pr.MaxLength))
		return
	}
	if pr.MinLength > 0 && utf8.RuneCountInString(s) < pr.MinLength {
		addError(errs, name, fmt.Sprintf("value must be at least %d characters long", pr.MinLength))
		return
	}
	if numberRe.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		if pr.Maximum != nil && f > *pr.Maximum {
			addError(errs, name, "value must have a maximum value of "+perlFloat(*pr.Maximum))
			return
		}
		if pr.Minimum != nil && f < *pr.Minimum {
			addError(errs, name, "value must have a minimum value of "+perlFloat(*pr.Minimum))
			return
		}
	}
	if len(pr.Enum) > 0 {
		found := false
		for _, e := range pr.Enum {
			if e == s {
				found = true
				break
			}
		}
		if !found {
			addError(errs, name, fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'",
				s, strings.Join(pr.Enum, ", ")))
		}
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

// perlFloat prints a number as Perl would in a message.
func perlFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', 15, 64)
}

// validate is JSONSchema::validate for a method's parameters (with
// RESTHandler's legacy normalisation of "-list" arrays first). It returns a
// 400 apiError or nil.
func (sc schema) validate(p params) *apiError {
	// normalize_legacy_param_formats: arrays for "-list" strings are joined.
	for k, v := range p {
		pr, ok := sc[k]
		if !ok {
			continue
		}
		if arr, ok := v.([]any); ok && pr.Type == "string" && strings.HasSuffix(pr.Format, "-list") && len(arr) > 0 {
			parts := make([]string, 0, len(arr))
			for _, e := range arr {
				parts = append(parts, fmt.Sprint(e))
			}
			p[k] = strings.Join(parts, ",")
		}
	}

	errs := map[string]string{}
	names := make([]string, 0, len(sc))
	for k := range sc {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		checkProp(errs, k, sc[k], p[k])
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if pr, ok := sc[k]; ok {
			if pr.Requires != "" && !p.has(pr.Requires) {
				addError(errs, pr.Requires, fmt.Sprintf("missing property required by '%s'", k))
			}
			continue
		}
		addError(errs, k, "property is not defined in schema and the schema does not allow additional properties")
	}
	if len(errs) > 0 {
		return paramError(errs)
	}
	return nil
}
