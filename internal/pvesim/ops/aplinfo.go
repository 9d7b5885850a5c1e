package ops

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// The appliance index (pveam's aplinfo, pve-manager APLInfo.pm) and
// POST /nodes/{node}/aplinfo, which downloads a template into a storage
// as a "download" task.

// Appliance is one entry of the appliance index.
type Appliance struct {
	Template, Package, Version, OS, Section, Headline, Description string
	Type, Architecture, Source, InfoPage, ManageURL                string
	Size                                                           int64 // bytes of the archive
}

// Location is the URL the template is downloaded from.
func (a Appliance) Location() string { return a.Source + "/" + a.Section + "/" + a.Template }

// SHA512 is the archive's checksum in the index.
func (a Appliance) SHA512() string {
	sum := sha512.Sum512([]byte("pvesim appliance " + a.Template))
	return hex.EncodeToString(sum[:])
}

const (
	proxmoxImages = "http://download.proxmox.com/images"
	turnkeyImages = "https://releases.turnkeylinux.org/pve"
	maintainer    = "Proxmox Support Team <support@proxmox.com>"
	ctWiki        = "https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions"
)

// Appliances returns the index the nodes have cached from their last
// "pveam update".
func Appliances() []Appliance {
	sys := func(tmpl, pkg, version, os, headline string, mib int64) Appliance {
		return Appliance{Template: tmpl, Package: pkg, Version: version, OS: os, Section: "system",
			Headline: headline, Description: headline, Type: "lxc", Architecture: "amd64",
			Source: proxmoxImages, InfoPage: ctWiki, Size: mib << 20}
	}
	return []Appliance{
		sys("debian-12-standard_12.12-1_amd64.tar.zst", "debian-12-standard", "12.12-1", "debian-12",
			"Debian 12 Bookworm (standard)", 123),
		sys("debian-13-standard_13.1-2_amd64.tar.zst", "debian-13-standard", "13.1-2", "debian-13",
			"Debian 13 Trixie (standard)", 131),
		sys("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04-standard", "24.04-2", "ubuntu-24.04",
			"Ubuntu 24.04 Noble (standard)", 141),
		sys("alpine-3.22-default_20250617_amd64.tar.xz", "alpine-3.22-default", "20250617", "alpine-3.22",
			"Alpine Linux 3.22 (default)", 3),
		sys("rockylinux-9-default_20240912_amd64.tar.xz", "rockylinux-9-default", "20240912", "rockylinux-9",
			"Rocky Linux 9 (default)", 88),
		{Template: "debian-12-turnkey-wordpress_18.1-1_amd64.tar.gz", Package: "turnkey-wordpress", Version: "18.1-1",
			OS: "debian-12", Section: "turnkeylinux", Headline: "TurnKey WordPress",
			Description: "Blog and website publishing platform, with a WYSIWYG editor and plugins.",
			Type:        "lxc", Architecture: "amd64", Source: turnkeyImages, InfoPage: "https://www.turnkeylinux.org/wordpress",
			ManageURL: "https://__IPADDRESS__/", Size: 371 << 20},
	}
}

// ApplianceByTemplate finds an appliance by its file name.
func ApplianceByTemplate(name string) (Appliance, bool) {
	for _, a := range Appliances() {
		if a.Template == name {
			return a, true
		}
	}
	return Appliance{}, false
}

// downloadRate is how fast nodes fetch templates (bytes per second).
const downloadRate = 40 << 20

// Download is POST /nodes/{node}/aplinfo: a "download" task that puts the
// template into storage sid (shown in the log as wget would).
func (o *Ops) Download(c Caller, sid, template string) (string, error) {
	a, ok := ApplianceByTemplate(template)
	if !ok {
		return "", state.ParamErr("template", "no such template")
	}
	st := o.Cluster.StorageByID(sid)
	if st == nil {
		return "", state.Dief("storage '%s' does not exist\n", sid)
	}
	if !st.Supports("vztmpl") {
		return "", state.Dief("storage '%s' does not support templates\n", sid)
	}
	now := o.Now()
	e := o.Tasks
	t := e.Start(c.Node, "download", template, c.User, now)
	volid := sid + ":vztmpl/" + template
	dest := st.VolumePath("vztmpl/" + template)
	t.Log(now, fmt.Sprintf("downloading %s to %s", a.Location(), dest))
	if _, exists := o.Cluster.StoredVolume(sid, c.Node, volid); exists {
		t.Log(now, "calculating checksum of existing file...OK, got correct file already, no need to download")
		e.Succeed(t, now, e.Dur(tasks.NoopDelay), nil)
		return t.UPID, nil
	}
	dur := e.Dur(time.Duration(a.Size) * time.Second / downloadRate)
	lines := wgetLog(a, dest+".tmp_dwnl."+fmt.Sprint(t.PID), now)
	for i, line := range lines {
		t.Log(now.Add(dur*time.Duration(i)/time.Duration(len(lines))), line)
	}
	done := now.Add(dur)
	t.Log(done, "calculating checksum...OK, checksum verified")
	t.Log(done, fmt.Sprintf("download of '%s' to '%s' finished", a.Location(), dest))
	e.Succeed(t, now, dur+e.Dur(100*time.Millisecond), func(end time.Time) {
		o.Cluster.PutVolume(sid, c.Node, state.Volume{VolID: volid, Content: "vztmpl",
			Format: state.FileFormat("vztmpl", template), Size: a.Size, CTime: end.Unix()})
	})
	return t.UPID, nil
}

// wgetLog is what wget --progress=dot:giga prints (each dot 1 MiB, 32 to
// a line).
func wgetLog(a Appliance, tmp string, now time.Time) []string {
	host := strings.TrimPrefix(strings.TrimPrefix(a.Source, "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	out := []string{
		fmt.Sprintf("--%s--  %s", now.UTC().Format("2006-01-02 15:04:05"), a.Location()),
		fmt.Sprintf("Resolving %s (%s)... 170.130.165.90, 2a0b:25c0:0:2012::40", host, host),
		fmt.Sprintf("Connecting to %s (%s)|170.130.165.90|:80... connected.", host, host),
		"HTTP request sent, awaiting response... 200 OK",
		fmt.Sprintf("Length: %d (%.0fM) [application/octet-stream]", a.Size, float64(a.Size)/(1<<20)),
		fmt.Sprintf("Saving to: '%s'", tmp),
		"",
	}
	mib := a.Size >> 20
	for line := int64(0); line*32 < mib || line == 0; line++ {
		dots := min(32, mib-line*32)
		var b strings.Builder
		fmt.Fprintf(&b, "%6dK ", line*32*1024)
		for d := int64(0); d < dots; d++ {
			if d > 0 && d%8 == 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('.')
		}
		pct := min(100, (line+1)*32*100/max(mib, 1))
		fmt.Fprintf(&b, " %3d%% 40.0M 1s", pct)
		out = append(out, b.String())
	}
	out = append(out, "", fmt.Sprintf("%s (40.0 MB/s) - '%s' saved [%d/%d]",
		now.UTC().Format("2006-01-02 15:04:05"), tmp, a.Size, a.Size), "")
	return out
}
