package ops

import (
	"strconv"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// CheckVolumeAccess is PVE::Storage::check_volume_access: may user use
// volid, for guest vmid (0 for none), as content type want ("" for any)?
// Templates and ISO images need Datastore.AllocateSpace or
// Datastore.Audit on their storage; a guest's disk is its owner's;
// Datastore.Allocate opens everything.
func (o *Ops) CheckVolumeAccess(user string, vmid int, volid, want string) error {
	sid, volname, ok := state.SplitVolID(volid)
	if !ok {
		if user != access.RootUser {
			// a die without a newline: Perl adds where it happened
			return state.Dief("Only root can pass arbitrary filesystem paths. at /usr/share/perl5/PVE/Storage.pm line 651.\n")
		}
		return nil
	}
	st := o.Cluster.StorageByID(sid)
	if st == nil {
		return state.Dief("storage '%s' does not exist\n", sid)
	}
	vi, err := st.ParseVolName(volname)
	if err != nil {
		return err
	}
	if want != "" && vi.Content != want && (want != "rootdir" || vi.Content != "images") {
		return state.Dief("unable to use volume %s - content type needs to be '%s'\n", volid, want)
	}
	path := "/storage/" + sid
	if o.ACL.Can(user, path, "Datastore.Allocate") {
		return nil
	}
	switch {
	case vi.Content == "iso" || vi.Content == "vztmpl" || vi.Content == "import":
		return o.ACL.CheckAny(user, path, "Datastore.AllocateSpace", "Datastore.Audit")
	case vi.Owner != 0 && vmid != 0 && vi.Owner == vmid:
		return nil
	case vi.Content == "backup" && vi.Owner != 0:
		if err := o.ACL.Check(user, path, "Datastore.AllocateSpace"); err != nil {
			return err
		}
		return o.ACL.Check(user, "/vms/"+strconv.Itoa(vi.Owner), "VM.Backup")
	case vi.Content == "images" && vi.Owner != 0:
		if err := o.ACL.Check(user, path, "Datastore.Audit"); err != nil {
			return err
		}
		return o.ACL.Check(user, "/vms/"+strconv.Itoa(vi.Owner), "VM.Config.Disk")
	}
	return state.Dief("missing privileges to access %s\n", volid)
}
