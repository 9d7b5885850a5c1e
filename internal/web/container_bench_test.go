package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/markdown"
)

// benchContainerView is a running container's page data as loadContainer
// builds it: a full configuration, a few tasks, addresses and notes.
func benchContainerView() containerView {
	cfg := lxc.Config{Digest: "0123456789abcdef0123456789abcdef01234567", Values: map[string]string{
		"arch": "amd64", "cores": "4", "hostname": "db-main", "memory": "8192", "swap": "1024", "ostype": "debian",
		"net0":   "name=eth0,bridge=vmbr0,firewall=1,gw=192.168.100.1,hwaddr=BC:24:11:5E:01:03,ip=192.168.100.103/24,type=veth",
		"net1":   "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:5E:01:04,ip=dhcp,ip6=auto,tag=20,type=veth",
		"rootfs": "local-lvm:vm-103-disk-0,size=62G", "unprivileged": "1", "features": "nesting=1", "onboot": "1",
		"startup": "order=2,up=30", "tags": "db;prod", "description": "# Primary PostgreSQL 16\n\nSee the [runbook](https://wiki.example.com/db).\n",
	}}
	can := containerCan{Power: true, CPU: true, Memory: true, Network: true, Options: true, Disk: true}
	ct := lxc.Container{VMID: 103, Name: "db-main", Node: "pve1", Status: "running", Pool: "prod", Tags: []string{"db", "prod"},
		CPU: 0.02, MaxCPU: 4, Mem: 2 << 30, MaxMem: 8 << 30, Disk: 31 << 30, MaxDisk: 62 << 30, Uptime: 800 * time.Hour,
		Swap: 1 << 20, MaxSwap: 1 << 30, NetIn: 80 << 30, NetOut: 12 << 30}
	tasks := make([]lxc.TaskEntry, recentTasks)
	for i := range tasks {
		tasks[i] = lxc.TaskEntry{UPID: "UPID:pve1:0001E240:00BC614E:6B0E5197:vzstart:103:root@pam:", Node: "pve1", Type: "vzstart",
			ID: "103", User: "root@pam", StartTime: 1764561600 - int64(i)*3600, EndTime: 1764561604 - int64(i)*3600, Status: "OK"}
	}
	v := containerView{Target: target{Node: "pve1", VMID: 103}, CT: ct, Config: cfg, Can: can, Actions: offeredActions(ct),
		IPs: []ipAddr{{Iface: "eth0", Addr: "192.168.100.103/24", Source: "live"}}, Charts: chartQuery{Timeframe: "hour", CF: "AVERAGE"},
		Latest: []latestValue{{"CPU", "2.0%"}, {"Memory", "2.0 GiB"}}}
	v.Tasks = taskRows(tasks, time.Unix(1764561700, 0))
	v.Notes = markdown.Render(cfg.Get("description"))
	v.Settings = settingsFromConfig(cfg, can)
	return v
}

// BenchmarkContainerPageRender is the dashboard's own time for a running
// container's page once its data is in hand (PVE's answers excluded): the
// view's forms and notes built, and the page rendered.
func BenchmarkContainerPageRender(b *testing.B) {
	rd, err := newRenderer()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		v := benchContainerView()
		buf.Reset()
		if err := rd.pages["container"].ExecuteTemplate(&buf, "layout", pageData{User: "root@pam", Nonce: "n", Page: v}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}
