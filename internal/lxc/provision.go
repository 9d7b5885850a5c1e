package lxc

// Provisioning: what creating, cloning and deleting a container needs to
// know about a node (its storages, templates, bridges), and what each of
// those calls is given.

// Storage is one storage as a node sees it (GET /nodes/{node}/storage).
type Storage struct {
	ID      string   // "local-lvm"
	Type    string   // dir, lvmthin, nfs, ...
	Content []string // "images", "rootdir", "vztmpl", ...
	Shared  bool
	Active  bool
	Total   int64 // bytes; 0 when PVE does not know (inactive)
	Used    int64
	Avail   int64
}

// Holds reports whether the storage takes content type ct ("rootdir").
func (s Storage) Holds(ct string) bool {
	for _, c := range s.Content {
		if c == ct {
			return true
		}
	}
	return false
}

// Volume is one volume on a storage (GET .../storage/{storage}/content).
type Volume struct {
	VolID   string // "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"
	Content string // "vztmpl", "rootdir", "images", "backup", "iso"
	Format  string
	Size    int64
	VMID    int // owner, 0 for none
	CTime   int64
}

// Name is the volume's file or volume name: what follows "<storage>:" and
// the content directory ("debian-12-standard_12.12-1_amd64.tar.zst").
func (v Volume) Name() string {
	name := v.VolID
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' || name[i] == ':' {
			return name[i+1:]
		}
	}
	return name
}

// Storage is the storage ID part of the volid.
func (v Volume) Storage() string {
	for i := 0; i < len(v.VolID); i++ {
		if v.VolID[i] == ':' {
			return v.VolID[:i]
		}
	}
	return ""
}

// Appliance is an entry of PVE's appliance index (GET /nodes/{node}/aplinfo):
// a template that can be downloaded.
type Appliance struct {
	Template    string // the file name, the key for a download
	Package     string
	Version     string
	OS          string
	Section     string // "system", "turnkeylinux", ...
	Headline    string
	Description string
}

// Bridge is a network bridge a container's interface can join.
type Bridge struct {
	Name      string // "vmbr0"
	Type      string // bridge, OVSBridge, vnet
	CIDR      string // the node's own address on it, "" for none
	VLANAware bool
	Comment   string
	Active    bool
}

// Pool is a resource pool (GET /pools).
type Pool struct {
	ID      string
	Comment string
}

// NetSpec is a container's first network interface.
type NetSpec struct {
	Bridge   string
	IPv4     string // "dhcp", a CIDR ("192.0.2.5/24"), or "" for none
	Gateway4 string
	IPv6     string // "dhcp", "auto" (SLAAC), a CIDR, or "" for none
	Gateway6 string
	VLAN     int // 0 for none
	Firewall bool
}

// CreateSpec is a new container (POST /nodes/{node}/lxc). Password is a
// secret: it must never be logged or stored.
type CreateSpec struct {
	VMID         int
	Template     string // volid of the template
	Hostname     string // "" for PVE's default, CT<vmid>
	Password     string
	SSHKeys      string // OpenSSH public keys, one per line
	Cores        int    // 0: PVE's default (all of the node's cores)
	MemoryMiB    int
	SwapMiB      int
	RootStorage  string
	RootSizeGiB  int
	Net          NetSpec
	Nameserver   string // space-separated addresses; "" to take the node's
	SearchDomain string
	Unprivileged bool
	Nesting      bool
	Pool         string
	Tags         []string
	Start        bool
}

// CloneSpec is a copy of a container (POST .../clone).
type CloneSpec struct {
	NewID    int
	Hostname string
	Full     bool   // a full copy; false links to a template's volumes
	Target   string // another node, "" for the same one
	Storage  string // target storage of a full copy, "" for the source's
	Pool     string
}

// DestroyOptions are DELETE /nodes/{node}/lxc/{vmid}'s flags.
type DestroyOptions struct {
	Force                    bool // stop the container first
	Purge                    bool // also remove it from backup and replication jobs and HA
	DestroyUnreferencedDisks bool
}
