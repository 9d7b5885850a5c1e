package web

import (
	"context"
	"sync"
	"time"
)

// realmTTL is how long PVE's realm list is reused before it is asked again.
const realmTTL = time.Minute

// realmCache keeps PVE's realm list for a short while, so showing and
// checking the sign-in form does not cost a PVE call each time. It is a
// cache only: every instance fetches its own.
type realmCache struct {
	mu      sync.Mutex
	realms  []Realm
	fetched time.Time
}

// realms returns the realms to offer: PVE's list (labelled with each realm's
// comment, PVE's default first choice), or the configured fallback when PVE
// cannot be asked, which is logged.
func (s *Server) realmList(ctx context.Context) []Realm {
	s.realms.mu.Lock()
	defer s.realms.mu.Unlock()
	if s.realms.realms != nil && s.cfg.Now().Sub(s.realms.fetched) < realmTTL {
		return s.realms.realms
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := s.cfg.PVE.Realms(ctx)
	if err != nil || len(got) == 0 {
		s.log.Warn("realm list from PVE unavailable; offering pam and pve", "err", err)
		return s.cfg.Realms
	}
	out := make([]Realm, 0, len(got))
	for _, r := range got {
		label := r.Comment
		if label == "" {
			label = r.Name
		}
		out = append(out, Realm{Name: r.Name, Label: label, Type: r.Type, Default: r.Default})
	}
	s.realms.realms, s.realms.fetched = out, s.cfg.Now()
	return out
}

// defaultRealm is the realm preselected on the form: PVE's default, else
// pam, else the first.
func defaultRealm(realms []Realm) string {
	for _, r := range realms {
		if r.Default {
			return r.Name
		}
	}
	for _, r := range realms {
		if r.Name == "pam" {
			return r.Name
		}
	}
	if len(realms) > 0 {
		return realms[0].Name
	}
	return ""
}

func findRealm(realms []Realm, name string) (Realm, bool) {
	for _, r := range realms {
		if r.Name == name {
			return r, true
		}
	}
	return Realm{}, false
}
