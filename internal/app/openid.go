package app

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/config"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// openIDCheckTimeout bounds the start-up look at PVE's realms.
const openIDCheckTimeout = 10 * time.Second

// checkOpenIDSetup looks at PVE's realms once at start-up. With PUBLIC_URL
// set it logs the redirect URI to register at the identity providers.
// Without it, when PVE has OpenID realms, it logs an error naming them:
// their sign-ins cannot work until PUBLIC_URL is set, and the login page
// tells people who choose them. The dashboard still starts (realms can be
// added in PVE at any time, and every other sign-in works), which is
// friendlier than refusing to run. PVE not answering is no error here:
// /readyz reports it.
func (d *Dashboard) checkOpenIDSetup(ctx context.Context, cfg config.Config, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, openIDCheckTimeout)
	defer cancel()
	realms, err := d.pve.Realms(ctx)
	if err != nil {
		logger.Debug("OpenID check: realm list from PVE unavailable", "err", err)
		return
	}
	var openid []string
	for _, r := range realms {
		if r.Type == "openid" {
			openid = append(openid, r.Name)
		}
	}
	if len(openid) == 0 {
		return
	}
	if cfg.PublicURL == "" {
		logger.Error("PUBLIC_URL is not set: sign-ins through the OpenID realms of Proxmox VE cannot work until it is "+
			"(set it to the dashboard's address as browsers reach it; see docs/config.md)", "realms", strings.Join(openid, ","))
		return
	}
	logger.Info("OpenID sign-ins return to the dashboard; register this redirect URI at the identity provider",
		"redirect_uri", cfg.PublicURL+web.OpenIDCallbackPath, "realms", strings.Join(openid, ","))
}
