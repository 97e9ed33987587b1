package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"parcours/services/auth"
)

// Defaults of the partner rate limit when Deps leaves it at zero.
const (
	DefaultPartnerRate  = 10.0 // requests per second, sustained
	DefaultPartnerBurst = 20   // requests at once
)

// limiterIdle is how long an unused bucket is kept; maxLimiters how many buckets trigger a
// sweep of the idle ones.
const (
	limiterIdle = 10 * time.Minute
	maxLimiters = 10_000
)

// partnerLimiter holds one token bucket per partner (département and token subject). The
// buckets live in the process: behind several server processes each holds its own, so the
// limit is per process.
type partnerLimiter struct {
	rate    rate.Limit
	burst   int
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	limiter  *rate.Limiter
	lastSeen time.Time
}

func newPartnerLimiter(perSecond float64, burst int, now func() time.Time) *partnerLimiter {
	if perSecond <= 0 {
		perSecond = DefaultPartnerRate
	}
	if burst <= 0 {
		burst = DefaultPartnerBurst
	}
	if now == nil {
		now = time.Now
	}
	return &partnerLimiter{rate: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// wait takes a token from key's bucket: zero when the request may go, else how long until
// one is available (the token is then not taken).
func (l *partnerLimiter) wait(key string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimiters {
			l.sweep(now)
		}
		b = &bucket{limiter: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.lastSeen = now
	r := b.limiter.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if delay > 0 {
		r.CancelAt(now)
	}
	return delay
}

// sweep forgets the buckets unused for limiterIdle; the caller holds the lock.
func (l *partnerLimiter) sweep(now time.Time) {
	for key, b := range l.buckets {
		if now.Sub(b.lastSeen) > limiterIdle {
			delete(l.buckets, key)
		}
	}
}

// middleware answers 429 with Retry-After (whole seconds, rounded up) to a partner whose
// bucket is empty; other roles pass.
func (l *partnerLimiter) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := auth.PrincipalFrom(c.Request.Context())
		if !ok || p.Role != auth.RolePartner {
			c.Next()
			return
		}
		delay := l.wait(p.Departement + "\x00" + p.Subject)
		if delay <= 0 {
			c.Next()
			return
		}
		seconds := int(math.Ceil(delay.Seconds()))
		c.Header("Retry-After", strconv.Itoa(seconds))
		prob := newProblem(c, http.StatusTooManyRequests,
			fmt.Sprintf("this client sends more than %g requests per second (bursts of %d); retry in %d s", float64(l.rate), l.burst, seconds))
		prob.Type = "urn:parcours:problem:too-many-requests"
		writeProblem(c, prob)
	}
}
