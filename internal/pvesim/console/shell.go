package console

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// shell is the session's program: a root shell with line editing, echo,
// and a handful of commands. It reads the keystrokes of every attached
// client in order.
type shell struct {
	s    *Session
	line []byte
	esc  int    // 0, or inside an escape sequence: 1 after ESC, 2 in CSI/SS3
	out  []byte // output of the keystrokes being handled, written at once
}

// yesChunk is how much `yes` writes at a time (a pty read's worth).
const yesChunk = 4096

// aliveEvery is how often a running `yes` checks that its container runs.
const aliveEvery = 100 * time.Millisecond

func (sh *shell) prompt() {
	sh.out = append(sh.out, "root@"+sh.s.host().Hostname+":~# "...)
}

// flush writes the pending output; false once the session is to end.
func (sh *shell) flush() bool {
	if len(sh.out) == 0 {
		return true
	}
	ok := sh.s.write(sh.out)
	sh.out = sh.out[:0]
	return ok
}

// loop runs until `exit`, a stopped container or the session's end.
func (sh *shell) loop() {
	sh.prompt()
	if !sh.flush() {
		return
	}
	for {
		select {
		case <-sh.s.quit:
			return
		case b := <-sh.s.inputs:
			if b == nil {
				sh.out = append(sh.out, "\r\x1b[K"...)
				sh.prompt()
				sh.out = append(sh.out, sh.line...)
			} else if !sh.keys(b) {
				sh.flush()
				return
			}
			if !sh.flush() {
				return
			}
		}
	}
}

// keys handles typed bytes; false when the shell exits.
func (sh *shell) keys(b []byte) bool {
	for _, c := range b {
		switch {
		case sh.esc == 1:
			sh.esc = 0
			if c == '[' || c == 'O' {
				sh.esc = 2
			}
		case sh.esc == 2:
			if c >= 0x40 && c <= 0x7e {
				sh.esc = 0
			}
		case c == 0x1b:
			sh.esc = 1
		case c == '\r' || c == '\n':
			sh.out = append(sh.out, "\r\n"...)
			cmd := string(sh.line)
			sh.line = sh.line[:0]
			if !sh.run(cmd) {
				return false
			}
			sh.prompt()
		case c == 0x03: // Ctrl-C
			sh.line = sh.line[:0]
			sh.out = append(sh.out, "^C\r\n"...)
			sh.prompt()
		case c == 0x04: // Ctrl-D
			if len(sh.line) == 0 {
				sh.out = append(sh.out, "logout\r\n"...)
				return false
			}
		case c == 0x15: // Ctrl-U
			sh.line = sh.line[:0]
			sh.out = append(sh.out, "\r\x1b[K"...)
			sh.prompt()
		case c == 0x0c: // Ctrl-L
			sh.out = append(sh.out, "\x1b[H\x1b[2J"...)
			sh.prompt()
			sh.out = append(sh.out, sh.line...)
		case c == 0x7f || c == 0x08:
			if len(sh.line) > 0 {
				_, n := utf8.DecodeLastRune(sh.line)
				sh.line = sh.line[:len(sh.line)-n]
				sh.out = append(sh.out, "\b \b"...)
			}
		case c < 0x20:
			// other control keys: ignored
		default:
			sh.line = append(sh.line, c)
			sh.out = append(sh.out, c)
		}
	}
	return true
}

// run runs one command line; false when the shell exits.
func (sh *shell) run(line string) bool {
	args := strings.Fields(line)
	if len(args) == 0 {
		return true
	}
	ct := sh.s.host()
	if !ct.Running {
		return false
	}
	say := func(lines ...string) {
		for _, l := range lines {
			sh.out = append(sh.out, l...)
			sh.out = append(sh.out, "\r\n"...)
		}
	}
	switch args[0] {
	case "exit", "logout":
		say("logout")
		return false
	case "hostname":
		say(ct.Hostname)
	case "uname":
		say(uname(ct, args[1:]))
	case "ip":
		say(ipAddr(ct, args[1:])...)
	case "cat":
		for _, f := range args[1:] {
			if f == "/etc/os-release" {
				say(osRelease(ct.OSType)...)
			} else {
				say("cat: " + f + ": No such file or directory")
			}
		}
	case "echo":
		say(strings.Join(args[1:], " "))
	case "clear":
		sh.out = append(sh.out, "\x1b[H\x1b[2J"...)
	case "stty":
		if len(args) == 2 && args[1] == "size" {
			sh.s.mu.Lock()
			say(strconv.Itoa(sh.s.rows) + " " + strconv.Itoa(sh.s.cols))
			sh.s.mu.Unlock()
		}
	case "true", ":":
	case "yes":
		word := "y"
		if len(args) > 1 {
			word = strings.Join(args[1:], " ")
		}
		return sh.yes(word)
	default:
		say("-bash: " + args[0] + ": command not found")
	}
	return true
}

// yes prints word until Ctrl-C; false when the session ends meanwhile.
func (sh *shell) yes(word string) bool {
	if !sh.flush() {
		return false
	}
	unit := word + "\r\n"
	chunk := []byte(strings.Repeat(unit, max(1, yesChunk/len(unit))))
	checked := time.Now()
	for {
		select {
		case <-sh.s.quit:
			return false
		case b := <-sh.s.inputs:
			if bytes.IndexByte(b, 0x03) >= 0 {
				sh.out = append(sh.out, "^C\r\n"...)
				return true
			}
			continue // other keys are typed ahead into the void
		default:
		}
		if time.Since(checked) >= aliveEvery {
			if !sh.s.host().Running {
				return false
			}
			checked = time.Now()
		}
		if !sh.idle() || !sh.s.write(chunk) {
			return false
		}
	}
}

// idle waits while no client is attached (the output would be thrown
// away; the simulator does not spin meanwhile). False when the session
// ends.
func (sh *shell) idle() bool {
	for {
		sh.s.mu.Lock()
		n := len(sh.s.clients)
		sh.s.mu.Unlock()
		if n > 0 {
			return true
		}
		select {
		case <-sh.s.joined:
		case <-sh.s.quit:
			return false
		}
	}
}

func uname(ct Container, flags []string) string {
	machine := "x86_64"
	if ct.Arch == "arm64" {
		machine = "aarch64"
	}
	if len(flags) == 0 {
		return "Linux"
	}
	switch flags[0] {
	case "-a":
		return fmt.Sprintf("Linux %s %s #1 SMP PREEMPT_DYNAMIC PMX %s (2025-11-04T10:12Z) %s GNU/Linux",
			ct.Hostname, ct.Kernel, strings.TrimSuffix(ct.Kernel, "-pve"), machine)
	case "-r":
		return ct.Kernel
	case "-n":
		return ct.Hostname
	case "-m":
		return machine
	}
	return "uname: invalid option -- '" + strings.TrimLeft(flags[0], "-") + "'"
}

// ipAddr is `ip -4 addr`: the container's IPv4 addresses.
func ipAddr(ct Container, args []string) []string {
	rest := args
	if len(rest) > 0 && rest[0] == "-4" {
		rest = rest[1:]
	}
	if len(rest) == 0 || (rest[0] != "addr" && rest[0] != "a" && rest[0] != "address") {
		return []string{"Usage: ip -4 addr"}
	}
	var out []string
	index := map[string]int{}
	for _, a := range ct.Addrs {
		if _, seen := index[a.Iface]; !seen {
			index[a.Iface] = len(index) + 1
			if a.Iface == "lo" {
				out = append(out, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000")
			} else {
				out = append(out, fmt.Sprintf("%d: %s@if%d: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000 link-netnsid 0",
					index[a.Iface]+1, a.Iface, 20+index[a.Iface]))
			}
		}
		scope := "global " + a.Iface
		if a.Iface == "lo" {
			scope = "host lo"
		}
		brd := ""
		if a.Brd != "" {
			brd = " brd " + a.Brd
		}
		out = append(out, "    inet "+a.CIDR+brd+" scope "+scope, "       valid_lft forever preferred_lft forever")
	}
	return out
}

// osRelease is /etc/os-release of the container's distribution.
func osRelease(ostype string) []string {
	switch ostype {
	case "debian":
		return []string{`PRETTY_NAME="Debian GNU/Linux 13 (trixie)"`, `NAME="Debian GNU/Linux"`, `VERSION_ID="13"`,
			`VERSION="13 (trixie)"`, `VERSION_CODENAME=trixie`, `ID=debian`, `HOME_URL="https://www.debian.org/"`}
	case "ubuntu":
		return []string{`PRETTY_NAME="Ubuntu 24.04.3 LTS"`, `NAME="Ubuntu"`, `VERSION_ID="24.04"`,
			`VERSION="24.04.3 LTS (Noble Numbat)"`, `VERSION_CODENAME=noble`, `ID=ubuntu`, `ID_LIKE=debian`}
	case "alpine":
		return []string{`NAME="Alpine Linux"`, `ID=alpine`, `VERSION_ID=3.22.2`, `PRETTY_NAME="Alpine Linux v3.22"`}
	}
	return []string{`NAME="` + ostype + `"`, `ID=` + ostype, `PRETTY_NAME="` + ostype + `"`}
}
