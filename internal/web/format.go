package web

import (
	"fmt"
	"time"
)

// errorPage is the data of the error page.
type errorPage struct {
	Title     string
	Message   string
	RequestID string
}

// formatBytes renders a byte count with binary units ("1.5 GiB").
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatPercent renders a fraction (0.25) as "25.0%".
func formatPercent(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// formatDuration renders an uptime as "3d 4h", "4h 5m" or "5m".
func formatDuration(d time.Duration) string {
	d = d.Truncate(time.Minute)
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	mins := int(d % time.Hour / time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	default:
		return fmt.Sprintf("%dm", mins)
	}
}
