package auth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// verifiedCacheSize bounds the tokens remembered at once. Only tokens that passed the full
// check get in (so only tokens this server's keys signed), and a full cache forgets the
// expired ones, or everything, before it takes a new one.
const verifiedCacheSize = 10_000

// verdict is what the full check of one API token concluded: its principal, and the clock
// window in which the check accepts it (from: iat or nbf, the later, less the leeway; until:
// exp plus the leeway, excluded), and the key, by kid, that signed it.
type verdict struct {
	principal   Principal
	from, until time.Time
	kid         string
	key         ed25519.PublicKey
}

// verifiedCache remembers the verdicts of API tokens by the SHA-256 of their exact bytes: a
// token that differs in any byte (another signature, claim or header) is another key and goes
// through the full check. Safe for concurrent use.
type verifiedCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[sha256.Size]byte]verdict
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, entries: make(map[[sha256.Size]byte]verdict)}
}

// get returns the principal of raw when it was verified before, now is inside its window, and
// keys still holds the very key that signed it under its kid (a key removed or replaced in the
// keyset no longer vouches for it). The principal is a copy: callers may not alter the
// cached one.
func (c *verifiedCache) get(raw string, now time.Time, keys *Keyset) (Principal, bool) {
	sum := sha256.Sum256([]byte(raw))
	c.mu.RLock()
	v, ok := c.entries[sum]
	c.mu.RUnlock()
	if !ok {
		return Principal{}, false
	}
	key, known := keys.PublicKey(v.kid)
	if now.Before(v.from) || !now.Before(v.until) || !known || !key.Equal(v.key) {
		c.mu.Lock()
		delete(c.entries, sum)
		c.mu.Unlock()
		return Principal{}, false
	}
	p := v.principal
	p.Territories = slices.Clone(p.Territories)
	p.Scopes = slices.Clone(p.Scopes)
	return p, true
}

// put remembers the verdict of raw. When the cache is full it first forgets the verdicts
// whose window has closed by now, and everything when none has.
func (c *verifiedCache) put(raw string, v verdict, now time.Time) {
	if v.key == nil {
		return
	}
	v.principal.Territories = slices.Clone(v.principal.Territories)
	v.principal.Scopes = slices.Clone(v.principal.Scopes)
	sum := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[sum] = v
}
