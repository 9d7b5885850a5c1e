package web

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// The new-container form: its values (kept between steps and after a
// refusal, never the passwords), the checks made before PVE is asked, and
// the CreateSpec it becomes.

// storageIDPattern is PVE's pve-storage-id format.
var storageIDPattern = regexp.MustCompile(`^(?i)[a-z][a-z0-9\-_.]*[a-z0-9]$`)

// createForm holds the form's values and the errors per field.
type createForm struct {
	Values url.Values
	Errors map[string]string
}

// createFields are the form's fields, in order; passwords are never kept.
var createFields = []string{"node", "template", "vmid", "hostname", "password", "password2", "sshkeys", "cores", "memory",
	"swap", "storage", "disk", "bridge", "ip4mode", "ip4", "gw4", "ip6mode", "ip6", "gw6", "vlan", "firewall",
	"nameserver", "searchdomain", "unprivileged", "nesting", "pool", "tags", "start"}

// newCreateForm reads the form, with PVE's GUI defaults for what is not
// given yet (a fresh form, or a step that did not ask).
func newCreateForm(v url.Values, fresh bool) createForm {
	f := createForm{Values: url.Values{}, Errors: map[string]string{}}
	for _, k := range createFields {
		if val, ok := v[k]; ok && len(val) > 0 {
			f.Values.Set(k, strings.TrimSpace(val[0]))
		}
	}
	if v.Get("sshkeys") != "" {
		f.Values.Set("sshkeys", strings.TrimSpace(strings.ReplaceAll(v.Get("sshkeys"), "\r\n", "\n")))
	}
	if fresh {
		for k, d := range map[string]string{"cores": "1", "memory": "512", "swap": "512", "disk": "8", "ip4mode": "dhcp",
			"ip6mode": "none", "firewall": "1", "unprivileged": "1", "nesting": "1"} {
			if f.Values.Get(k) == "" {
				f.Values.Set(k, d)
			}
		}
	}
	return f
}

// Get is a field's value.
func (f createForm) Get(k string) string { return f.Values.Get(k) }

// on reports whether a checkbox is ticked.
func (f createForm) on(k string) bool { v := f.Get(k); return v == "1" || v == "on" }

// fail records the first error of a field.
func (f createForm) fail(k, msg string) {
	if _, ok := f.Errors[k]; !ok {
		f.Errors[k] = msg
	}
}

// createChoices are what the person may pick, from PVE: the check that a
// value is one of them is made before PVE is asked.
type createChoices struct {
	Templates   map[string]bool
	Storages    map[string]lxc.Storage // rootdir storages
	Bridges     map[string]bool
	Pools       map[string]bool
	PoolNeeded  bool // the person may allocate only in pools
	TagsAllowed bool
	Privileged  bool // may create privileged containers
	Root        bool
}

// intField checks a whole number in [lo, hi] (hi 0: no upper bound).
func (f createForm) intField(k, label string, lo, hi int) int {
	n, err := strconv.Atoi(f.Get(k))
	switch {
	case err != nil:
		f.fail(k, label+" must be a whole number.")
	case n < lo:
		f.fail(k, fmt.Sprintf("%s must be at least %d.", label, lo))
	case hi > 0 && n > hi:
		f.fail(k, fmt.Sprintf("%s must be at most %d.", label, hi))
	}
	return n
}

// validate checks the settings step and returns the spec. Errors are in
// f.Errors, named by field.
func (f createForm) validate(ch createChoices) lxc.CreateSpec {
	spec := lxc.CreateSpec{Template: f.Get("template"), Hostname: f.Get("hostname"), Unprivileged: f.on("unprivileged"),
		Nesting: f.on("nesting"), Start: f.on("start"), Pool: f.Get("pool"), Nameserver: f.Get("nameserver"),
		SearchDomain: f.Get("searchdomain")}
	if !ch.Templates[spec.Template] {
		f.fail("template", "Choose one of the node's templates.")
	}
	spec.VMID = f.intField("vmid", "The VMID", 100, 999999999)
	if spec.Hostname != "" && (!validDNSName(spec.Hostname) || len(spec.Hostname) > 255) {
		f.fail("hostname", "The host name must be a DNS name: letters, digits and hyphens, labels separated by dots.")
	}
	pw, pw2, keys := f.Get("password"), f.Get("password2"), f.Get("sshkeys")
	switch {
	case pw == "" && keys == "":
		f.fail("password", "Set a root password or give an SSH key, or nobody can sign in to the container.")
	case pw != "" && len(pw) < 5:
		f.fail("password", "The password must be at least 5 characters long.")
	case pw != pw2:
		f.fail("password2", "The two passwords differ.")
	}
	spec.Password = pw
	if keys != "" {
		if line, ok := validSSHKeys(keys); !ok {
			f.fail("sshkeys", fmt.Sprintf("Line %d is not an OpenSSH public key (type, base64 key, optional comment).", line))
		}
		spec.SSHKeys = keys
	}
	spec.Cores = f.intField("cores", "Cores", 1, 8192)
	spec.MemoryMiB = f.intField("memory", "Memory", 16, 0)
	spec.SwapMiB = f.intField("swap", "Swap", 0, 0)
	spec.RootStorage = f.Get("storage")
	spec.RootSizeGiB = f.intField("disk", "The disk size", 1, 131072)
	if st, ok := ch.Storages[spec.RootStorage]; !ok {
		f.fail("storage", "Choose a storage for the root disk.")
	} else if st.Avail > 0 && int64(spec.RootSizeGiB)<<30 > st.Avail && f.Errors["disk"] == "" {
		f.fail("disk", fmt.Sprintf("%s has %s free.", st.ID, formatBytes(st.Avail)))
	}
	spec.Net = f.network(ch)
	for _, a := range strings.Fields(strings.ReplaceAll(spec.Nameserver, ",", " ")) {
		if _, err := netip.ParseAddr(a); err != nil {
			f.fail("nameserver", fmt.Sprintf("%q is not an IP address.", a))
		}
	}
	spec.Nameserver = strings.Join(strings.Fields(strings.ReplaceAll(spec.Nameserver, ",", " ")), " ")
	for _, d := range strings.Fields(spec.SearchDomain) {
		if !validDNSName(d) {
			f.fail("searchdomain", fmt.Sprintf("%q is not a domain name.", d))
		}
	}
	if !spec.Unprivileged && !ch.Privileged {
		f.fail("unprivileged", "Privileged containers need the Sys.Modify privilege on /, which you do not have.")
	}
	if spec.Nesting && !spec.Unprivileged && !ch.Root {
		f.fail("nesting", "Only root@pam may set features of a privileged container.")
	}
	switch {
	case spec.Pool == "" && ch.PoolNeeded:
		f.fail("pool", "You may create containers only in a pool: choose one.")
	case spec.Pool != "" && !ch.Pools[spec.Pool]:
		f.fail("pool", "Choose one of the pools you may create containers in.")
	}
	if t := f.Get("tags"); t != "" {
		if !ch.TagsAllowed {
			f.fail("tags", "Your permissions do not cover tags on a new container; set them on its page once it exists.")
		}
		for _, tag := range lxc.SplitTags(t) {
			if !tagPattern.MatchString(tag) {
				f.fail("tags", fmt.Sprintf("The tag %q may hold only letters, digits and _ - + . (not at the start).", tag))
			}
			spec.Tags = append(spec.Tags, strings.ToLower(tag))
		}
	}
	return spec
}

// network checks the interface fields with the settings form's rules.
func (f createForm) network(ch createChoices) lxc.NetSpec {
	n := netForm{Name: "eth0", Bridge: f.Get("bridge"), IPv4Mode: f.Get("ip4mode"), IP: f.Get("ip4"), GW: f.Get("gw4"),
		IPv6Mode: f.Get("ip6mode"), IP6: f.Get("ip6"), GW6: f.Get("gw6"), Tag: f.Get("vlan")}
	switch n.IPv4Mode {
	case "dhcp", "static", "none":
	default:
		f.fail("ip4mode", "Choose DHCP, static or none.")
		n.IPv4Mode = "none"
	}
	switch n.IPv6Mode {
	case "dhcp", "auto", "static", "none":
	default:
		f.fail("ip6mode", "Choose DHCP, SLAAC, static or none.")
		n.IPv6Mode = "none"
	}
	n.check()
	for from, to := range map[string]string{"bridge": "bridge", "ip": "ip4", "gw": "gw4", "ip6": "ip6", "gw6": "gw6", "tag": "vlan"} {
		if msg := n.Errors[from]; msg != "" {
			f.fail(to, msg)
		}
	}
	if !ch.Bridges[n.Bridge] && f.Errors["bridge"] == "" {
		f.fail("bridge", "Choose one of the node's bridges.")
	}
	spec := lxc.NetSpec{Bridge: n.Bridge, Firewall: f.on("firewall")}
	switch n.IPv4Mode {
	case "dhcp":
		spec.IPv4 = "dhcp"
	case "static":
		spec.IPv4, spec.Gateway4 = n.IP, n.GW
	}
	switch n.IPv6Mode {
	case "dhcp", "auto":
		spec.IPv6 = n.IPv6Mode
	case "static":
		spec.IPv6, spec.Gateway6 = n.IP6, n.GW6
	}
	spec.VLAN, _ = strconv.Atoi(n.Tag)
	return spec
}

// backQuery is the step-one URL that keeps node and template.
func (f createForm) backQuery() string {
	q := url.Values{}
	for _, k := range []string{"node", "template"} {
		if v := f.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	return "/containers/new?" + q.Encode()
}
