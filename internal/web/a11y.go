package web

// AriaSort is the aria-sort value of a column header: "ascending" or
// "descending" on the sorted column, "none" on the others, so screen
// readers announce the order.
func (q listQuery) AriaSort(col string) string {
	switch {
	case q.Sort != col:
		return "none"
	case q.Dir == "desc":
		return "descending"
	}
	return "ascending"
}

// ButtonLabel names an action and its container for screen readers
// ("Stop CT 101 web-01"): a row of identical "Stop" buttons is useless to
// someone who cannot see the row.
func (r containerRow) ButtonLabel(a string) string {
	label := a + " " + containerLabel(r.VMID)
	if r.Name != "" {
		label += " " + r.Name
	}
	return label
}
