package proxmox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Num decodes a PVE number that may arrive as a JSON number, a numeric
// string ("100"), or null. PVE stringifies some integers (nextid, old lxc
// vmids, cpulimit), so every numeric field is read through Num.
type Num float64

// UnmarshalJSON accepts 12, 12.5, "12", "12.5", "" and null. It parses the
// bytes itself: overview answers hold tens of thousands of numbers.
func (n *Num) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	if b[0] == '"' {
		var text []byte
		if len(b) >= 2 && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
			text = b[1 : len(b)-1]
		} else {
			var s string
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
			text = []byte(s)
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			*n = 0
			return nil
		}
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return fmt.Errorf("proxmox: %q is not a number", text)
		}
		*n = Num(f)
		return nil
	}
	if c := b[0]; c != '-' && (c < '0' || c > '9') {
		return fmt.Errorf("proxmox: %s is not a number", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("proxmox: %s is not a number", b)
	}
	*n = Num(f)
	return nil
}

// Int returns n as an int64.
func (n Num) Int() int64 { return int64(n) }

// Bool reports whether n is non-zero (PVE sends booleans as 0/1).
func (n Num) Bool() bool { return n != 0 }
