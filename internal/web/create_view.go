package web

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// What the new-container page shows: step one (node, template, downloads)
// and step two (every other setting), built from what PVE offers the
// person on that node.

// createPageData is the create template's data.
type createPageData struct {
	Step        int // 1: node and template; 2: the settings
	Form        createForm
	Node        string
	NodeField   inputField
	TmplField   inputField
	Template    string // the chosen template's file name
	Appliances  []applianceRow
	DLStorages  []option // storages the person may download into
	Sections    []formSection
	Error       string // a refusal that belongs to no single field
	BackURL     string
	NoTemplates bool
}

// applianceRow is one downloadable template.
type applianceRow struct {
	lxc.Appliance
	Present bool // already on one of the node's storages
}

// formSection is a fieldset of the settings step.
type formSection struct {
	Title, Note string
	Fields      []inputField
}

// nodeOptions lists the online nodes, then the others marked.
func nodeOptions(nodes []lxc.Node) []option {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	opts := []option{{Value: "", Label: "Choose a node"}}
	for _, n := range nodes {
		if n.Status == "online" {
			opts = append(opts, option{Value: n.Name, Label: n.Name})
		}
	}
	return opts
}

// nodeTemplates lists the templates on every storage of node the person
// can see, as volid options.
func (s *Server) nodeTemplates(ctx context.Context, id lxc.Identity, node string) ([]lxc.Volume, []lxc.Storage, error) {
	storages, err := s.cfg.PVE.Storages(ctx, id, node, "vztmpl")
	if err != nil {
		return nil, nil, err
	}
	var (
		mu   sync.Mutex
		all  []lxc.Volume
		errs []error
		wg   sync.WaitGroup
	)
	for _, st := range storages {
		wg.Go(func() {
			vols, err := s.cfg.PVE.StorageContent(ctx, id, node, st.ID, "vztmpl")
			mu.Lock()
			defer mu.Unlock()
			all = append(all, vols...)
			errs = append(errs, err)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
	return all, storages, nil
}

// templateOptions are the templates as select options.
func templateOptions(vols []lxc.Volume) []option {
	opts := []option{{Value: "", Label: "Choose a template"}}
	for _, v := range vols {
		opts = append(opts, option{Value: v.VolID, Label: fmt.Sprintf("%s (%s, %s)", v.Name(), v.Storage(), formatBytes(v.Size))})
	}
	return opts
}

// settingsChoices loads what step two offers on node.
type settingsChoices struct {
	createChoices
	storages []lxc.Storage
	bridges  []lxc.Bridge
	pools    []lxc.Pool
	vols     []lxc.Volume
	nextID   int
}

func (s *Server) loadSettingsChoices(ctx context.Context, id lxc.Identity, node string, pp provisionPerms) (settingsChoices, error) {
	var (
		c                      settingsChoices
		serr, berr, perr, terr error
		wg                     sync.WaitGroup
	)
	wg.Go(func() { c.storages, serr = s.cfg.PVE.Storages(ctx, id, node, "rootdir") })
	wg.Go(func() { c.bridges, berr = s.cfg.PVE.Bridges(ctx, id, node) })
	wg.Go(func() { c.vols, _, terr = s.nodeTemplates(ctx, id, node) })
	if pp.anywhere() {
		wg.Go(func() { c.pools, perr = s.cfg.PVE.Pools(ctx, id) })
	}
	wg.Go(func() { c.nextID, _ = s.cfg.PVE.NextID(ctx, id) })
	var version lxc.Version
	wg.Go(func() { version, _ = s.cfg.PVE.Version(ctx, id) })
	wg.Wait()
	for _, err := range []error{serr, berr, terr, perr} {
		if err != nil {
			return c, err
		}
	}
	c.Templates, c.Storages, c.Bridges, c.Pools = map[string]bool{}, map[string]lxc.Storage{}, map[string]bool{}, map[string]bool{}
	for _, v := range c.vols {
		c.Templates[v.VolID] = true
	}
	kept := c.storages[:0]
	for _, st := range c.storages {
		if pp.space(st.ID) {
			c.Storages[st.ID] = st
			kept = append(kept, st)
		}
	}
	c.storages = kept
	for _, b := range c.bridges {
		c.Bridges[b.Name] = true
	}
	for _, p := range c.pools {
		c.Pools[p.ID] = true
	}
	for _, p := range pp.pools() {
		if !c.Pools[p] {
			c.Pools[p] = true
			c.pools = append(c.pools, lxc.Pool{ID: p})
		}
	}
	sort.Slice(c.pools, func(i, j int) bool { return c.pools[i].ID < c.pools[j].ID })
	c.PoolNeeded = !pp.anywhere()
	c.TagsAllowed, c.Privileged, c.Root = pp.tags(), pp.privileged(), pp.root
	if major, err := strconv.Atoi(strings.Split(version.Version, ".")[0]); err == nil && major < 9 {
		c.Privileged = true // Sys.Modify is asked for privileged containers from PVE 9.0 on
	}
	return c, nil
}

// sections builds step two's fieldsets with the form's values and errors.
func (c settingsChoices) sections(f createForm) []formSection {
	in := func(name, label, typ string, opts ...string) inputField {
		fl := &field{Key: name, Value: f.Get(name), Error: f.Errors[name]}
		if typ == "password" {
			fl.Value = "" // never sent back
		}
		return newInput("ct-"+name, label, typ, fl, opts...)
	}
	sel := func(name, label string, options []option, hint string) inputField {
		i := in(name, label, "select")
		i.Options, i.Hint = options, hint
		return i
	}
	vmid := in("vmid", "VMID", "number", "min=100", "max=999999999", "inputmode=numeric")
	if f.Get("vmid") == "" && c.nextID > 0 {
		vmid.Value = strconv.Itoa(c.nextID)
	}
	vmid.Hint = "Proposed by Proxmox VE: the lowest free ID. Any free ID from 100 on will do."
	var storages []option
	for _, st := range c.storages {
		label := st.ID
		if st.Total > 0 {
			label = fmt.Sprintf("%s (%s free of %s)", st.ID, formatBytes(st.Avail), formatBytes(st.Total))
		}
		storages = append(storages, option{Value: st.ID, Label: label})
	}
	var bridges []option
	for _, b := range c.bridges {
		label := b.Name
		if b.CIDR != "" {
			label += " (" + b.CIDR + ")"
		}
		if b.VLANAware {
			label += ", VLAN-aware"
		}
		bridges = append(bridges, option{Value: b.Name, Label: label})
	}
	var pools []option
	if !c.PoolNeeded {
		pools = append(pools, option{Value: "", Label: "None"})
	}
	for _, p := range c.pools {
		label := p.ID
		if p.Comment != "" {
			label += " (" + p.Comment + ")"
		}
		pools = append(pools, option{Value: p.ID, Label: label})
	}
	hostname := in("hostname", "Host name", "text", "maxlength=255", "autocomplete=off")
	hostname.Hint = "Empty: CT followed by the VMID."
	keys := in("sshkeys", "SSH public keys", "textarea")
	keys.Hint = "One OpenSSH public key per line, for root. A password, a key or both."
	pw := in("password", "Root password", "password", "autocomplete=new-password", "maxlength=256")
	pw.Hint = "At least 5 characters. It goes to Proxmox VE only; the dashboard keeps it nowhere."
	identity := formSection{Title: "Identity", Fields: []inputField{vmid, hostname, pw,
		in("password2", "Repeat the root password", "password", "autocomplete=new-password", "maxlength=256"), keys}}
	resources := formSection{Title: "Resources", Fields: []inputField{
		in("cores", "CPU cores", "number", "min=1", "max=8192"),
		in("memory", "Memory (MiB)", "number", "min=16", "step=1"),
		in("swap", "Swap (MiB)", "number", "min=0", "step=1")}}
	disk := formSection{Title: "Root disk", Fields: []inputField{
		sel("storage", "Storage", storages, "Storages that hold containers and that you may allocate on."),
		in("disk", "Size (GiB)", "number", "min=1", "max=131072")}}
	network := formSection{Title: "Network (eth0)", Fields: []inputField{
		sel("bridge", "Bridge", bridges, ""),
		sel("ip4mode", "IPv4", []option{{"dhcp", "DHCP"}, {"static", "Static"}, {"none", "None"}}, ""),
		in("ip4", "IPv4 address (CIDR)", "text", "placeholder=192.168.1.20/24", "autocomplete=off"),
		in("gw4", "IPv4 gateway", "text", "placeholder=192.168.1.1", "autocomplete=off"),
		sel("ip6mode", "IPv6", []option{{"none", "None"}, {"dhcp", "DHCP"}, {"auto", "SLAAC"}, {"static", "Static"}}, ""),
		in("ip6", "IPv6 address (CIDR)", "text", "placeholder=2001:db8::20/64", "autocomplete=off"),
		in("gw6", "IPv6 gateway", "text", "autocomplete=off"),
		in("vlan", "VLAN tag", "number", "min=1", "max=4094", "hint=Empty: no VLAN."),
		in("firewall", "Firewall", "checkbox")}}
	if len(bridges) == 0 {
		network.Note = "You may use no bridge on this node (PVE shows bridges to people with SDN.Use on them); ask an administrator."
	}
	dns := formSection{Title: "DNS", Note: "Empty: the container uses the node's settings.", Fields: []inputField{
		in("nameserver", "DNS servers", "text", "placeholder=192.168.1.1 2001:db8::1", "autocomplete=off"),
		in("searchdomain", "Search domain", "text", "placeholder=example.com", "autocomplete=off")}}
	opts := formSection{Title: "Options", Fields: []inputField{
		in("unprivileged", "Unprivileged container (recommended)", "checkbox"),
		in("nesting", "Nesting (needed by recent systemd)", "checkbox"),
		sel("pool", "Pool", pools, map[bool]string{true: "You may create containers only in these pools."}[c.PoolNeeded])}}
	if c.TagsAllowed || f.Get("tags") != "" {
		tags := in("tags", "Tags", "text", "placeholder=web prod", "autocomplete=off")
		tags.Hint = "Separated by spaces or commas."
		opts.Fields = append(opts.Fields, tags)
	} else {
		opts.Note = "Tags: Proxmox VE checks them against the new VMID, which your permissions do not cover; add them on the container's page once it exists."
	}
	opts.Fields = append(opts.Fields, in("start", "Start after creation", "checkbox"))
	return []formSection{identity, resources, disk, network, dns, opts}
}

// templateName is the file name of a template volid.
func templateName(volid string) string {
	return lxc.Volume{VolID: volid}.Name()
}

// applianceRows marks the index entries already on the node.
func applianceRows(apl []lxc.Appliance, vols []lxc.Volume) []applianceRow {
	present := map[string]bool{}
	for _, v := range vols {
		present[v.Name()] = true
	}
	out := make([]applianceRow, 0, len(apl))
	for _, a := range apl {
		out = append(out, applianceRow{Appliance: a, Present: present[a.Template]})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Section != out[j].Section {
			return strings.Compare(out[i].Section, out[j].Section) < 0
		}
		return out[i].Template < out[j].Template
	})
	return out
}
