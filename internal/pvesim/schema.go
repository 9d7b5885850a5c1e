package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// Parameter schemas (a subset of PVE::JSONSchema; the checks themselves
// are in package jsonschema).

// prop describes one parameter, as in the apidata schema.
type prop = js.Prop

// schema is a method's parameter schema; additionalProperties is always
// 0. Indexed parameters are named "net[n]".
type schema map[string]prop

func fptr(f float64) *float64 { return &f }

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

// checkProp validates one value against its property description.
func checkProp(errs map[string]string, name string, pr prop, v any, reg js.Registry) {
	if v == nil {
		if !pr.Optional {
			js.AddError(errs, name, "property is missing and it is not optional")
		}
		return
	}
	if ref := perlRef(v); ref != "" {
		if pr.Type == "boolean" && ref == "JSON::PP::Boolean" {
			return
		}
		if pr.Type == "array" && ref == "ARRAY" {
			return // the items are not checked
		}
		js.AddError(errs, name, fmt.Sprintf("type check ('%s') failed - got %s", pr.Type, ref))
		return
	}
	if pr.Type == "array" {
		js.AddError(errs, name, fmt.Sprintf("type check ('array') failed - got '%s'", v))
		return
	}
	js.CheckString(errs, name, pr, v.(string), reg)
}

var indexedParamRe = regexp.MustCompile(`^([a-z]+)(\d+)$`)

// lookup finds the description of parameter name; "net3" finds "net[n]".
func (sc schema) lookup(name string) (prop, bool) {
	if pr, ok := sc[name]; ok && pr.Indexed == 0 {
		return pr, true
	}
	m := indexedParamRe.FindStringSubmatch(name)
	if m == nil {
		return prop{}, false
	}
	pr, ok := sc[m[1]+"[n]"]
	if !ok {
		return prop{}, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n >= pr.Indexed || strconv.Itoa(n) != m[2] {
		return prop{}, false
	}
	return pr, true
}

// validate is JSONSchema::validate for a method's parameters (with
// RESTHandler's legacy normalisation of "-list" arrays first). It returns a
// 400 apiError or nil.
func (sc schema) validate(p params, reg js.Registry) *apiError {
	// normalize_legacy_param_formats: arrays for "-list" strings are joined.
	for k, v := range p {
		pr, ok := sc.lookup(k)
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
	for _, k := range perl.SortedKeys(sc) {
		if sc[k].Indexed > 0 {
			continue // optional by nature; checked below when given
		}
		checkProp(errs, k, sc[k], p[k], reg)
	}
	for _, k := range perl.SortedKeys(p) {
		pr, ok := sc.lookup(k)
		if !ok {
			js.AddError(errs, k, "property is not defined in schema and the schema does not allow additional properties")
			continue
		}
		if pr.Indexed > 0 {
			checkProp(errs, k, pr, p[k], reg)
		}
		if pr.Requires != "" && !p.has(pr.Requires) {
			js.AddError(errs, pr.Requires, fmt.Sprintf("missing property required by '%s'", k))
		}
	}
	if len(errs) > 0 {
		return paramError(errs)
	}
	return nil
}
