package auth

import (
	"crypto/ed25519"
	"time"
)

// Test-only levers of the package's internals.

// SetClock sets the clock tokens are minted and checked with.
func (t *Tokens) SetClock(now func() time.Time) { t.now = now }

// SetCacheSize replaces the cache of verified tokens with an empty one holding at most n.
func (t *Tokens) SetCacheSize(n int) { t.verified = newVerifiedCache(n) }

// Forget removes the verification key kid from the keyset, as a key withdrawn from it.
func (ks *Keyset) Forget(kid string) { delete(ks.verifying, kid) }

// Replace puts another public key under kid.
func (ks *Keyset) Replace(kid string, pub ed25519.PublicKey) { ks.verifying[kid] = pub }
