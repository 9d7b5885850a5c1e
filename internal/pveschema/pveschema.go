// Package pveschema reads the official Proxmox VE API schema (pve-docs
// api-viewer/apidata.js as plain JSON, kept in ../shared/pve-schema) and
// checks calls and answers against it. It is meant for tests: the
// simulator's conformance test and the client's.
//
// The schema describes parameters precisely (PVE verifies them with
// additionalProperties => 0) but answers loosely: PVE itself never
// verifies answers outside debug builds, and some fields real servers send
// are not declared. CheckReturn is deliberately stricter than PVE and
// reports every undeclared field, so callers keep an explicit list of the
// known exceptions.
package pveschema

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Schema is one version of the API schema.
type Schema struct {
	methods map[string]*Method // "GET /nodes/{node}/lxc"
}

// Method is one API method.
type Method struct {
	Name       string // PVE's method name, e.g. "vmlist"
	HTTPMethod string // "GET", "POST", "PUT", "DELETE"
	Path       string // schema path, e.g. "/nodes/{node}/lxc"
	Params     map[string]*Param
	ProxyTo    string // "node" for methods forwarded to the node in the path, "" for none
	Protected  bool   // runs in pvedaemon
	AllowToken bool   // may be called with an API token
	// Permissions is the raw "permissions" object: {"check": [...]} or
	// {"user": "all"|"world"}, plus a description.
	Permissions map[string]any
	// Returns is the raw "returns" schema.
	Returns map[string]any
}

// Param is one parameter (path variables included, as in PVE).
type Param struct {
	Name      string
	Type      string // "string", "integer", "number", "boolean", "array", "object"; "" if not a single type
	Optional  bool
	Format    string // a named format ("pve-node", "pve-vmid", "pve-configid-list"); "" for none or an inline one
	Enum      []string
	Minimum   *float64
	Maximum   *float64
	MaxLength *int
	MinLength *int
	Pattern   string // the pattern as in the schema (Perl syntax)
	Requires  string
	Default   any
	re        *regexp.Regexp // Pattern translated to Go, anchored; nil if not translatable
}

// Load reads a schema file (pve-9.1.json, pve-8.4.json).
func Load(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pveschema: %w", err)
	}
	var tree []map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, fmt.Errorf("pveschema: %s: %w", path, err)
	}
	s := &Schema{methods: map[string]*Method{}}
	var walk func(nodes []any) error
	walk = func(nodes []any) error {
		for _, raw := range nodes {
			n, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("pveschema: %s: tree node is not an object", path)
			}
			p, _ := n["path"].(string)
			if info, ok := n["info"].(map[string]any); ok {
				for verb, mi := range info {
					m, err := newMethod(verb, p, mi)
					if err != nil {
						return fmt.Errorf("pveschema: %s: %w", path, err)
					}
					s.methods[verb+" "+p] = m
				}
			}
			if ch, ok := n["children"].([]any); ok {
				if err := walk(ch); err != nil {
					return err
				}
			}
		}
		return nil
	}
	top := make([]any, len(tree))
	for i := range tree {
		top[i] = tree[i]
	}
	if err := walk(top); err != nil {
		return nil, err
	}
	if len(s.methods) == 0 {
		return nil, fmt.Errorf("pveschema: %s: no methods", path)
	}
	return s, nil
}

func newMethod(verb, path string, raw any) (*Method, error) {
	mi, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s: method is not an object", verb, path)
	}
	m := &Method{HTTPMethod: verb, Path: path, Params: map[string]*Param{}}
	m.Name, _ = mi["name"].(string)
	m.ProxyTo, _ = mi["proxyto"].(string)
	m.Protected = truthy(mi["protected"])
	m.AllowToken = true
	if v, ok := mi["allowtoken"]; ok {
		m.AllowToken = truthy(v)
	}
	m.Permissions, _ = mi["permissions"].(map[string]any)
	m.Returns, _ = mi["returns"].(map[string]any)
	params, _ := mi["parameters"].(map[string]any)
	props, _ := params["properties"].(map[string]any)
	for name, pr := range props {
		pd, ok := pr.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s %s: parameter %s is not an object", verb, path, name)
		}
		m.Params[name] = newParam(name, pd)
	}
	return m, nil
}

func newParam(name string, pd map[string]any) *Param {
	p := &Param{Name: name, Optional: truthy(pd["optional"]), Default: pd["default"]}
	p.Type, _ = pd["type"].(string)
	p.Format, _ = pd["format"].(string)
	p.Requires, _ = pd["requires"].(string)
	p.Pattern, _ = pd["pattern"].(string)
	if e, ok := pd["enum"].([]any); ok {
		for _, v := range e {
			p.Enum = append(p.Enum, fmt.Sprint(v))
		}
	}
	if f, ok := pd["minimum"].(float64); ok {
		p.Minimum = &f
	}
	if f, ok := pd["maximum"].(float64); ok {
		p.Maximum = &f
	}
	if f, ok := pd["maxLength"].(float64); ok {
		n := int(f)
		p.MaxLength = &n
	}
	if f, ok := pd["minLength"].(float64); ok {
		n := int(f)
		p.MinLength = &n
	}
	if p.Pattern != "" {
		p.re = perlPattern(p.Pattern)
	}
	return p
}

// perlPattern translates a schema pattern to an anchored Go regexp (PVE
// matches m/^$pattern$/). Perl's "(?^:" groups become "(?:"; patterns
// using what RE2 lacks (look-around, back references) give nil.
func perlPattern(p string) *regexp.Regexp {
	p = strings.ReplaceAll(p, "(?^:", "(?:")
	p = strings.ReplaceAll(p, "(?^i:", "(?i:")
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil
	}
	return re
}

// truthy is Perl truthiness of a decoded JSON value.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case float64:
		return t != 0
	case string:
		return t != "" && t != "0"
	}
	return true
}

// Method returns the method for an HTTP method and a schema path such as
// "/nodes/{node}/lxc".
func (s *Schema) Method(method, path string) (*Method, bool) {
	m, ok := s.methods[method+" "+path]
	return m, ok
}

// Methods returns "METHOD /path" for every method, sorted.
func (s *Schema) Methods() []string {
	out := make([]string, 0, len(s.methods))
	for k := range s.methods {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParamNames returns the method's parameter names, sorted.
func (m *Method) ParamNames() []string {
	out := make([]string, 0, len(m.Params))
	for k := range m.Params {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	integerRe = regexp.MustCompile(`^[+-]?\d+$`)
	numberRe  = regexp.MustCompile(`^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$`)
)

// CheckParams checks a call's parameters (path variables included, the
// values as PVE receives them) the way PVE's verification does: every
// name declared (PVE methods never allow others), every required one
// present, integers and numbers well-formed and within bounds, booleans
// 0 or 1, enums, string lengths, patterns, "requires", and the common
// named formats (pve-node, pve-vmid, pve-realm, pve-userid,
// pve-storage-id, pve-configid, pve-poolid and their -list forms; others
// are not checked). It returns one error per problem, nil if none.
func (m *Method) CheckParams(params map[string]string) []error {
	var errs []error
	add := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s: parameter %q: %s", m.HTTPMethod, m.Path, name, fmt.Sprintf(format, args...)))
	}
	for _, name := range sortedKeys(params) {
		if _, ok := m.Params[name]; !ok {
			add(name, "not defined in the schema")
		}
	}
	for _, name := range m.ParamNames() {
		p := m.Params[name]
		v, ok := params[name]
		if !ok {
			if !p.Optional {
				add(name, "required but missing")
			}
			continue
		}
		if p.Requires != "" {
			if _, ok := params[p.Requires]; !ok {
				add(name, "requires %q", p.Requires)
			}
		}
		if msg := p.check(v); msg != "" {
			add(name, "%s", msg)
		}
	}
	return errs
}

// check validates one value; "" if fine.
func (p *Param) check(v string) string {
	switch p.Type {
	case "boolean":
		if v != "0" && v != "1" {
			return fmt.Sprintf("boolean must be 0 or 1, got %q", v)
		}
	case "integer":
		if !integerRe.MatchString(v) {
			return fmt.Sprintf("not an integer: %q", v)
		}
	case "number":
		if !numberRe.MatchString(v) {
			return fmt.Sprintf("not a number: %q", v)
		}
	}
	if p.Format != "" {
		if msg := checkFormat(p.Format, v); msg != "" {
			return fmt.Sprintf("format %s: %s", p.Format, msg)
		}
	}
	if p.re != nil && !p.re.MatchString(v) {
		return fmt.Sprintf("%q does not match the pattern", v)
	}
	n := utf8.RuneCountInString(v)
	if p.MaxLength != nil && n > *p.MaxLength {
		return fmt.Sprintf("longer than %d characters", *p.MaxLength)
	}
	if p.MinLength != nil && n < *p.MinLength {
		return fmt.Sprintf("shorter than %d characters", *p.MinLength)
	}
	if (p.Type == "integer" || p.Type == "number") && (p.Minimum != nil || p.Maximum != nil) {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			if p.Minimum != nil && f < *p.Minimum {
				return fmt.Sprintf("%s is below the minimum %v", v, *p.Minimum)
			}
			if p.Maximum != nil && f > *p.Maximum {
				return fmt.Sprintf("%s is above the maximum %v", v, *p.Maximum)
			}
		}
	}
	if len(p.Enum) > 0 {
		for _, e := range p.Enum {
			if e == v {
				return ""
			}
		}
		return fmt.Sprintf("%q is not one of %s", v, strings.Join(p.Enum, ", "))
	}
	return ""
}

var formatRes = map[string]*regexp.Regexp{
	"pve-node":       regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`),
	"pve-vmid":       regexp.MustCompile(`^[1-9][0-9]{2,8}$`),
	"pve-realm":      regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`),
	"pve-userid":     regexp.MustCompile(`^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$`),
	"pve-storage-id": regexp.MustCompile(`^(?i)[a-z][a-z0-9\-_.]*[a-z0-9]$`),
	"pve-configid":   regexp.MustCompile(`^(?i)[a-z][a-z0-9_-]+$`),
	"pve-poolid":     regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_\-.]*(/[A-Za-z0-9_][A-Za-z0-9_\-.]*){0,2}$`),
}

// checkFormat checks the named formats it knows; others pass.
func checkFormat(format, v string) string {
	name, list := strings.CutSuffix(format, "-list")
	re, ok := formatRes[name]
	if !ok {
		return ""
	}
	vals := []string{v}
	if list {
		vals = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == 0 })
	}
	for _, x := range vals {
		if !re.MatchString(x) {
			return fmt.Sprintf("%q is not valid", x)
		}
	}
	return ""
}

// FieldError is one problem CheckReturn or CheckReturnTypes found.
type FieldError struct {
	Method string // "GET /nodes/{node}/lxc"
	// Where is the position in the answer: "data", "data[]" for every
	// element of an array, "data[].ha" for a nested object.
	Where string
	Field string // the field concerned, "" when Where itself is
	Msg   string
}

func (e *FieldError) Error() string {
	at := e.Where
	if e.Field != "" {
		at += "." + e.Field
	}
	return fmt.Sprintf("%s: %s: %s", e.Method, at, e.Msg)
}

// CheckReturn checks the field names of an answer's data (as decoded from
// JSON: map[string]any, []any, ...) against the method's "returns": every
// field of a returned object, or of each object in a returned array, must
// be declared. Objects whose schema allows additional properties, or
// declares none at all, are not checked; declared nested objects and
// arrays are checked the same way. A kind that differs from the declared
// type (an array for an object, ...) is reported too. Missing fields are
// never reported: nearly all are optional. Each error is a *FieldError;
// an undeclared field appears once per position however many array
// elements carry it.
//
// PVE itself treats an absent additionalProperties in a returns schema as
// "allowed"; this check is stricter on purpose.
func (m *Method) CheckReturn(data any) []error {
	return m.walk(data, false)
}

// CheckReturnTypes checks the JSON kinds of declared fields: integer and
// number fields must be numbers (integers for "integer"), booleans 0/1
// or true/false, strings strings. PVE does send numeric strings in a few
// places; callers decide which deviations to accept. Each error is a
// *FieldError, once per position.
func (m *Method) CheckReturnTypes(data any) []error {
	return m.walk(data, true)
}

func (m *Method) walk(data any, types bool) []error {
	w := &walker{method: m.HTTPMethod + " " + m.Path, types: types, seen: map[string]bool{}}
	w.fields(m.Returns, data, "data")
	return w.errs
}

type walker struct {
	method string
	types  bool
	errs   []error
	seen   map[string]bool
}

func (w *walker) add(where, field, msg string) {
	key := where + "\x00" + field + "\x00" + msg
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	w.errs = append(w.errs, &FieldError{Method: w.method, Where: where, Field: field, Msg: msg})
}

// fields walks value along sch.
func (w *walker) fields(sch map[string]any, value any, where string) {
	if sch == nil || value == nil {
		return
	}
	typ, _ := sch["type"].(string)
	switch typ {
	case "array":
		arr, ok := value.([]any)
		if !ok {
			w.add(where, "", "want an array, got "+kindOf(value))
			return
		}
		items, _ := sch["items"].(map[string]any)
		for _, e := range arr {
			w.fields(items, e, where+"[]")
		}
	case "object":
		obj, ok := value.(map[string]any)
		if !ok {
			w.add(where, "", "want an object, got "+kindOf(value))
			return
		}
		props, _ := sch["properties"].(map[string]any)
		if len(props) == 0 {
			return
		}
		allowExtra := truthy(sch["additionalProperties"])
		if _, isSchema := sch["additionalProperties"].(map[string]any); isSchema {
			allowExtra = true
		}
		for _, k := range sortedKeys(obj) {
			ps, declared := props[k].(map[string]any)
			if !declared {
				if !allowExtra && !w.types {
					w.add(where, k, "not declared in the schema")
				}
				continue
			}
			if w.types {
				if msg := typeMismatch(ps, obj[k]); msg != "" {
					w.add(where, k, msg)
					continue
				}
			}
			w.fields(ps, obj[k], where+"."+k)
		}
	default:
		if w.types {
			if msg := typeMismatch(sch, value); msg != "" {
				w.add(where, "", msg)
			}
		}
	}
}

// typeMismatch describes how v does not fit a scalar schema type.
func typeMismatch(sch map[string]any, v any) string {
	typ, _ := sch["type"].(string)
	switch typ {
	case "integer":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			return "want an integer, got " + kindOf(v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return "want a number, got " + kindOf(v)
		}
	case "boolean":
		switch t := v.(type) {
		case bool:
		case float64:
			if t != 0 && t != 1 {
				return fmt.Sprintf("want a boolean (0/1), got %v", t)
			}
		default:
			return "want a boolean, got " + kindOf(v)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return "want a string, got " + kindOf(v)
		}
	}
	return ""
}

func kindOf(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", t)
	case float64:
		return fmt.Sprintf("the number %v", t)
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
