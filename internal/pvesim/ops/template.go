package ops

import (
	"fmt"
	"time"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Converting a container to a template (pve-container API2/LXC.pm
// template, LXC.pm template_create): the checks run under the config
// lock and answer at once; a "vztemplate" task then turns every volume
// into a base volume ("vm-" becomes "base-") and sets template: 1. The
// call itself answers null.

// Template is POST .../template.
func (o *Ops) Template(c Caller, vmid string) error {
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return err
	}
	if err := checkLock(g); err != nil {
		return err
	}
	conf := o.Cluster.ConfOf(g)
	switch {
	case len(conf.Snapshots) > 0:
		return state.Dief("unable to create template, because CT contains snapshots\n")
	case g.Template:
		return state.Dief("you can't convert a template to a template\n")
	case g.Cur.Running:
		return state.Dief("you can't convert a CT to template if the CT is running\n")
	}
	e := o.Tasks
	now := o.Now()
	t := e.Start(c.Node, "vztemplate", vmid, c.User, now)
	l := &taskLog{e: e, t: t, at: now}
	next := conf.Clone()
	for _, d := range o.Cluster.GuestDisks(g) {
		if d.Option != "rootfs" && !mpRe.MatchString(d.Option) {
			continue
		}
		st := o.Cluster.StorageByID(storageOf(d.VolID))
		base := state.BaseVolID(d.VolID)
		if st != nil && (st.Type == "lvmthin" || st.Type == "lvm") {
			_, from, _ := state.SplitVolID(d.VolID)
			_, to, _ := state.SplitVolID(base)
			l.line(200*time.Millisecond, fmt.Sprintf("  Renamed \"%s\" to \"%s\" in volume group \"pve\"", from, to))
			l.line(100*time.Millisecond, fmt.Sprintf("  Logical volume pve/%s changed.", to))
		} else {
			l.wait(100 * time.Millisecond)
		}
		f := state.MountPointFormat
		if d.Option == "rootfs" {
			f = state.RootfsFormat
		}
		mp, err := js.ParsePropertyString(f, next.Values[d.Option], "", js.Base())
		if err != nil {
			continue
		}
		mp["volume"] = base
		next.Values[d.Option] = js.PrintPropertyString(f, mp)
	}
	next.Values["template"] = "1"
	e.Schedule(t, l.at.Add(e.Dur(100*time.Millisecond)), func(end time.Time) {
		if o.Cluster.Guests[g.VMID] == g {
			o.Cluster.WriteConf(g, next)
		}
		e.Finish(t, end, "OK")
	})
	return nil
}
