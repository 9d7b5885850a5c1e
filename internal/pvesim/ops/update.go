package ops

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Changing a container's configuration (pve-container API2/LXC/Config.pm
// update_vm, LXC/Config.pm update_pct_config).

// ConfigUpdate is a PUT .../config: the options to set (already verified
// against the schema), the deletions and reverts, the digest.
type ConfigUpdate struct {
	Set       map[string]string
	Delete    string // comma list, as sent
	HasDelete bool
	Revert    string
	HasRevert bool
	Digest    string
}

// SetConfig is PUT .../config. It is synchronous. Changes to a stopped
// container apply at once; a running one takes only the options it can
// hot-plug and keeps the others pending until its next start.
func (o *Ops) SetConfig(c Caller, vmid string, u ConfigUpdate) error {
	if len(u.Set) == 0 && !u.HasDelete && !u.HasRevert {
		return state.Dief("no options specified\n")
	}
	deletes := perl.SplitList(u.Delete)
	reverts := perl.SplitList(u.Revert)
	set := make(map[string]string, len(u.Set))
	for k, v := range u.Set {
		set[k] = v
	}
	if v, ok := set["cpuunits"]; ok {
		// clamp_cpu_shares on a cgroup v2 host
		if n, err := strconv.Atoi(v); err == nil && n >= 10000 {
			set["cpuunits"] = "10000"
		}
	}
	// The rest runs under the config lock (lock_config). Tasks holding it
	// are not waited for: the simulator has no blocking calls.
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return err
	}
	if err := checkLock(g); err != nil {
		return err
	}
	conf := o.Cluster.ConfOf(g)
	if u.Digest != "" && u.Digest != conf.Digest() {
		return state.Dief("detected modified configuration - file changed by other user? Try again.\n")
	}
	old := conf.Values
	unpriv := perl.True(old["unprivileged"], true)
	if err := o.checkModifyPerm(c.User, g, old, nil, deletes, unpriv); err != nil {
		return err
	}
	if err := o.checkModifyPerm(c.User, g, old, nil, reverts, unpriv); err != nil {
		return err
	}
	for _, opt := range reverts {
		if _, ok := state.LookupKey(o.Cluster.Keys, opt); !ok {
			return state.ParamErr("revert", fmt.Sprintf("unknown option '%s'", opt))
		}
		if _, ok := set[opt]; ok {
			return state.ParamErr("revert", fmt.Sprintf("you can't use '-%s' and '-revert %s' at the same time", opt, opt))
		}
	}
	for _, opt := range deletes {
		if _, ok := state.LookupKey(o.Cluster.Keys, opt); !ok {
			return state.ParamErr("delete", fmt.Sprintf("unknown option '%s'", opt))
		}
		if _, ok := set[opt]; ok {
			return state.ParamErr("delete", fmt.Sprintf("you can't use '-%s' and -delete %s' at the same time", opt, opt))
		}
		if slices.Contains(reverts, opt) {
			return state.ParamErr("delete", fmt.Sprintf("you can't use '-delete %s' and '-revert %s' at the same time", opt, opt))
		}
	}
	if err := o.checkModifyPerm(c.User, g, old, set, nil, unpriv); err != nil {
		return err
	}
	next := conf.Clone()
	modified, err := o.stagePending(g, next, set, deletes, reverts)
	if err != nil {
		return err
	}
	if g.Cur.Running {
		o.hotplugPending(g, next, modified)
	} else {
		o.applyPending(g, next, modified)
	}
	o.Cluster.WriteConf(g, next)
	return nil
}

// stagePending is update_pct_config up to the hot-plug: reverts, then
// deletions and new values go into the pending section. It returns the
// options this request touched.
func (o *Ops) stagePending(g *state.Guest, conf *state.Conf, set map[string]string, deletes, reverts []string) (map[string]bool, error) {
	for _, opt := range reverts {
		delete(conf.Pending, opt)
		conf.RemovePendingDelete(opt)
	}
	modified := map[string]bool{}
	for _, opt := range deletes {
		_, cur := conf.Values[opt]
		_, pend := conf.Pending[opt]
		if !cur && !pend {
			continue // "cannot delete '<opt>' - not set in current configuration!" (a warning)
		}
		modified[opt] = true
		switch {
		case opt == "memory" || opt == "rootfs" || opt == "ostype":
			return nil, state.Dief("unable to delete required option '%s'\n", opt)
		case mpRe.MatchString(opt) || strings.HasPrefix(opt, "unused"):
			if err := checkProtection(conf, fmt.Sprintf("can't remove CT %s drive '%s'", g.ID, opt)); err != nil {
				return nil, err
			}
		case opt == "unprivileged":
			return nil, state.Dief("unable to delete read-only option: '%s'\n", opt)
		}
		conf.AddPendingDelete(opt, false)
	}
	for _, opt := range sortedKeys(set) {
		modified[opt] = true
		value := set[opt]
		switch {
		case opt == "rootfs" || mpRe.MatchString(opt):
			if err := checkProtection(conf, fmt.Sprintf("can't update CT %s drive '%s'", g.ID, opt)); err != nil {
				return nil, err
			}
		case opt == "unprivileged":
			return nil, state.Dief("unable to modify read-only option: '%s'\n", opt)
		case opt == "tags":
			value = uniqueTags(value)
		case opt == "nameserver" || opt == "searchdomain":
			value = strings.Join(perl.SplitList(value), " ")
		}
		conf.Pending[opt] = value
		conf.RemovePendingDelete(opt)
	}
	conf.CleanupPending()
	return modified, nil
}

var mpRe = regexp.MustCompile(`^mp\d+$`)

// checkProtection is check_protection.
func checkProtection(conf *state.Conf, msg string) error {
	if perl.True(conf.Values["protection"], true) {
		return state.Dief("%s - protection mode enabled\n", msg)
	}
	return nil
}

// uniqueTags is get_unique_tags with the default tag style: lower case,
// sorted, each once, joined with ';'.
func uniqueTags(v string) string {
	var out []string
	for _, t := range perl.SplitList(v) {
		out = append(out, strings.ToLower(t))
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ";")
}

// mountPoint parses a rootfs or mpN value (parse_volume); ok is false if
// it does not parse.
func mountPoint(key, value string) (map[string]string, bool) {
	f := state.MountPointFormat
	if key == "rootfs" {
		f = state.RootfsFormat
	}
	mp, err := js.ParsePropertyString(f, value, "", js.Base())
	return mp, err == nil
}

// mountType is classify_mountpoint.
func mountType(volume string) string {
	switch {
	case strings.HasPrefix(volume, "/dev/"):
		return "device"
	case strings.HasPrefix(volume, "/"):
		return "bind"
	}
	return "volume"
}
