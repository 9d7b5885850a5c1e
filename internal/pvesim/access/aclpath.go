package access

// RemovePath drops every ACL entry on path (remove_vm_access does this
// for /vms/<vmid> when a guest is destroyed).
func (a *ACL) RemovePath(path string) {
	delete(a.acl, path)
}
