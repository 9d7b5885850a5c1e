package ops

import (
	"regexp"
	"sort"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// check_ct_modify_config_perm (pve-container LXC.pm): the privilege each
// option needs, checked for the new values (newConf) and the deleted
// options. root@pam passes.

var (
	netKeyRe  = regexp.MustCompile(`^net\d+$`)
	devKeyRe  = regexp.MustCompile(`^dev\d+$`)
	newDiskRe = regexp.MustCompile(`^([^:\s]+):(\d+(\.\d+)?)$`)
	ownVolRe  = regexp.MustCompile(`^[^:]+:(?:vm|base|subvol|basevol)-(\d+)-`)
)

func (o *Ops) checkModifyPerm(user string, g *state.Guest, oldConf, newConf map[string]string, deletes []string, unpriv bool) error {
	if user == access.RootUser {
		return nil
	}
	keys := make([]string, 0, len(newConf))
	for k := range newConf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := o.checkOptionPerm(user, g, k, false, oldConf, newConf, unpriv); err != nil {
			return err
		}
	}
	for _, k := range deletes {
		if err := o.checkOptionPerm(user, g, k, true, oldConf, newConf, unpriv); err != nil {
			return err
		}
	}
	return nil
}

// vmPerm is check_vm_perm: for a container being created in a pool (a
// guest not yet in the cluster, Pool set) the pool's privileges count.
func (o *Ops) vmPerm(user string, g *state.Guest, priv string) error {
	if g.Pool != "" && o.Cluster.Guests[g.VMID] != g && o.ACL.Can(user, "/pool/"+g.Pool, priv) {
		return nil
	}
	return o.ACL.Check(user, "/vms/"+g.ID, priv)
}

func (o *Ops) checkOptionPerm(user string, g *state.Guest, opt string, del bool, oldConf, newConf map[string]string, unpriv bool) error {
	switch {
	case opt == "cores" || opt == "cpuunits" || opt == "cpulimit":
		return o.vmPerm(user, g, "VM.Config.CPU")
	case opt == "rootfs" || mpRe.MatchString(opt):
		if err := o.vmPerm(user, g, "VM.Config.Disk"); err != nil || del {
			return err
		}
		return o.checkVolumePerm(user, g, opt, newConf[opt])
	case opt == "memory" || opt == "swap":
		return o.vmPerm(user, g, "VM.Config.Memory")
	case netKeyRe.MatchString(opt):
		if err := o.vmPerm(user, g, "VM.Config.Network"); err != nil {
			return err
		}
		if err := o.checkBridgeAccess(user, oldConf[opt]); err != nil {
			return err
		}
		return o.checkBridgeAccess(user, newConf[opt])
	case devKeyRe.MatchString(opt):
		return &access.PermError{What: "configuring device passthrough is only allowed for root@pam"}
	case opt == "nameserver" || opt == "searchdomain" || opt == "hostname":
		return o.vmPerm(user, g, "VM.Config.Network")
	case opt == "features":
		return o.checkFeaturesPerm(user, g, del, oldConf, newConf, unpriv)
	case opt == "hookscript":
		return &access.PermError{What: "changing the hookscript is only allowed for root@pam"}
	case opt == "tags":
		// assert_tag_permissions; the default tag-access (user-allow
		// "free") lets anyone with VM.Config.Options set any tag. It
		// asks check_vm_perm without the pool, even on create.
		return o.ACL.Check(user, "/vms/"+g.ID, "VM.Config.Options")
	}
	return o.vmPerm(user, g, "VM.Config.Options")
}

// checkVolumePerm: only volumes (no bind or device mounts), new disks
// need Datastore.AllocateSpace, other containers' volumes
// Datastore.Allocate (check_volume_access).
func (o *Ops) checkVolumePerm(user string, g *state.Guest, opt, value string) error {
	mp, ok := mountPoint(opt, value)
	if !ok {
		return nil // refused by the parameter check already
	}
	vol := mp["volume"]
	if t := mountType(vol); t != "volume" {
		return &access.PermError{What: "mount point type " + t + " is only allowed for root@pam"}
	}
	if m := newDiskRe.FindStringSubmatch(vol); m != nil {
		return o.ACL.Check(user, "/storage/"+m[1], "Datastore.AllocateSpace")
	}
	if m := ownVolRe.FindStringSubmatch(vol); m != nil && m[1] == g.ID {
		return nil
	}
	sid, _, _ := strings.Cut(vol, ":")
	return o.ACL.Check(user, "/storage/"+sid, "Datastore.Allocate")
}

// checkBridgeAccess is check_bridge_access: SDN.Use on the bridge (or
// its VLANs) in the localnetwork zone.
func (o *Ops) checkBridgeAccess(user, raw string) error {
	if raw == "" || user == access.RootUser {
		return nil
	}
	net, err := js.ParsePropertyString(state.NetFormat, raw, "", js.Base())
	if err != nil || net["bridge"] == "" {
		return nil
	}
	zone := "/sdn/zones/localnetwork/" + net["bridge"]
	tag, trunks := net["tag"], net["trunks"]
	if tag != "" {
		if err := o.ACL.Check(user, zone+"/"+tag, "SDN.Use"); err != nil {
			return err
		}
	}
	if trunks != "" {
		ids := strings.Split(trunks, ";")
		sort.Strings(ids)
		for _, id := range ids {
			if err := o.ACL.Check(user, zone+"/"+id, "SDN.Use"); err != nil {
				return err
			}
		}
	}
	if tag == "" && trunks == "" {
		return o.ACL.Check(user, zone, "SDN.Use")
	}
	return nil
}

// checkFeaturesPerm: feature flags of privileged containers and all but
// nesting are root's; changing nesting needs VM.Allocate.
func (o *Ops) checkFeaturesPerm(user string, g *state.Guest, del bool, oldConf, newConf map[string]string, unpriv bool) error {
	if !unpriv {
		return &access.PermError{What: "changing feature flags for privileged container is only allowed for root@pam"}
	}
	parse := func(v string) map[string]string {
		m, err := js.ParsePropertyString(state.FeaturesFormat, v, "", js.Base())
		if err != nil {
			return map[string]string{}
		}
		return m
	}
	nesting, other := false, false
	classify := func(m map[string]string) {
		if len(m) == 1 && m["nesting"] != "" {
			nesting = true
		} else if len(m) > 0 {
			other = true
		}
	}
	switch {
	case del:
		classify(parse(oldConf["features"]))
	case perl.True(oldConf["features"], true):
		oldF, newF := parse(oldConf["features"]), parse(newConf["features"])
		for _, k := range append(sortedKeys(oldF), sortedKeys(newF)...) {
			if oldF[k] != newF[k] {
				if k == "nesting" {
					nesting = true
					continue
				}
				other = true
				break
			}
		}
	default:
		classify(parse(newConf["features"]))
	}
	if other {
		return &access.PermError{What: "changing feature flags (except nesting) is only allowed for root@pam"}
	}
	if nesting {
		return o.vmPerm(user, g, "VM.Allocate")
	}
	return nil
}
