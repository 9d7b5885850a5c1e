package access

import (
	"regexp"
	"sort"
	"strings"
)

// capBuckets: which privileges the "cap" object collects per top-level
// path component (compute_api_permission's $priv_re_map).
var capBuckets = map[string]*regexp.Regexp{
	"vms":     regexp.MustCompile(`^(VM\.|Permissions\.Modify)`),
	"access":  regexp.MustCompile(`^((User|Group)\.|Permissions\.Modify)`),
	"storage": regexp.MustCompile(`^(Datastore\.|Permissions\.Modify)`),
	"nodes":   regexp.MustCompile(`^(Sys\.|Permissions\.Modify)`),
	"sdn":     regexp.MustCompile(`^(SDN\.|Permissions\.Modify)`),
	"dc":      regexp.MustCompile(`^(Sys\.Audit|Sys\.Modify|SDN\.)`),
	"mapping": regexp.MustCompile(`^(Mapping\.|Permissions.Modify)`),
}

var capTopLevelRe = regexp.MustCompile(`^/(\w+)`)

// ComputeCap is compute_api_permission: "the user has this privilege
// somewhere", per GUI area. Values are always 1.
func (a *ACL) ComputeCap(user string) map[string]map[string]int {
	res := map[string]map[string]int{}
	for k := range capBuckets {
		res[k] = map[string]int{}
	}
	paths := []string{"/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping"}
	var defined []string
	for p := range a.acl {
		defined = append(defined, p)
	}
	sort.Strings(defined)
	paths = append(paths, defined...)
	seen := map[string]bool{}
	for _, path := range paths {
		if seen[path] {
			continue
		}
		seen[path] = true
		privs := a.Privileges(user, path)
		top := "dc"
		if m := capTopLevelRe.FindStringSubmatch(path); m != nil {
			top = m[1]
		}
		if top == "pool" {
			for p := range privs {
				switch {
				case strings.HasPrefix(p, "VM."):
					res["vms"][p] = 1
				case strings.HasPrefix(p, "Datastore."):
					res["storage"][p] = 1
				case p == "Permissions.Modify":
					res["storage"][p] = 1
					res["vms"][p] = 1
				}
			}
			continue
		}
		re, ok := capBuckets[top]
		if !ok {
			continue
		}
		for p := range privs {
			if re.MatchString(p) {
				res[top][p] = 1
			}
		}
	}
	return res
}
