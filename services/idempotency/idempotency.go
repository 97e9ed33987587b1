// Package idempotency makes a retried write safe: the first answer to a request sent with an
// Idempotency-Key is kept with a hash of the request, in the transaction of the write itself,
// and a retry with the same key gets that answer back instead of writing again.
//
// How a request runs (Do):
//
//  1. one transaction opens; the key row is inserted first. A concurrent request with the same
//     key blocks on that insert (PostgreSQL's unique index) until the first one commits or
//     rolls back, for at most the store's wait; after that it is ErrInProgress (409).
//  2. the key exists and is live (under TTL): same request hash → its stored answer is returned
//     (Replayed); another hash → ErrKeyReused (422). Nothing runs.
//  3. the key is new (or its row expired): the request runs inside the same transaction (the
//     services join it through the context), and a successful (2xx) answer is stored in the key
//     row before the commit. Any other answer rolls back the write and the key alike: nothing
//     was written, and the same key may be sent again.
//
// The stored answer and the write therefore commit together or not at all.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
)

// TTL is how long a key is kept.
const TTL = 24 * time.Hour

// DefaultWait is how long a request waits for a concurrent one with the same key.
const DefaultWait = 10 * time.Second

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// MaxKeyLength bounds the key (the IETF draft suggests a UUID; anything up to this is taken).
const MaxKeyLength = 255

var (
	// ErrKeyReused is returned for a key already used with another request (422).
	ErrKeyReused = &services.ValidationError{Fields: []services.FieldError{{Field: Header,
		Message: "was already used with another request (method, path or body) in the last 24 hours; use a new key"}}}
	// ErrInProgress is returned when the request that first used the key is still running (409).
	ErrInProgress = fmt.Errorf("a request with this %s is still being processed; retry in a moment: %w", Header, services.ErrConflict)
	// errDiscard rolls back a request whose answer is not kept.
	errDiscard = errors.New("answer not kept")
)

// KeptHeaders are the response headers kept with an answer and replayed; the others (the
// request id, for one) belong to the request that computed it.
var KeptHeaders = []string{"Content-Type", "Location", "ETag"}

// Response is an HTTP answer as it is kept and replayed.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Kept reports whether the answer is kept for replay: successes only.
func (r Response) Kept() bool { return r.Status >= 200 && r.Status < 300 }

// Result is the answer Do gives back, and whether it is a replay of a stored one.
type Result struct {
	Response
	Replayed bool
}

// Hash is the fingerprint of a request: method, target (path and query) and body.
func Hash(method, target string, body []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(method), []byte(target), body} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// Store keeps idempotency keys in the database.
type Store struct {
	db   *gorm.DB
	now  func() time.Time
	wait time.Duration
}

// New returns a store over db waiting wait (DefaultWait when not positive) for a concurrent
// request with the same key.
func New(db *gorm.DB, wait time.Duration) *Store {
	if wait <= 0 {
		wait = DefaultWait
	}
	return &Store{db: db, now: time.Now, wait: wait}
}

// WithClock returns the store reading the time from now.
func (s *Store) WithClock(now func() time.Time) *Store {
	if now == nil {
		return s
	}
	c := *s
	c.now = now
	return &c
}

// Do runs the request fingerprinted hash under key for the caller in ctx, at most once per
// key: run gets the context of the transaction to do the work in and returns its answer.
func (s *Store) Do(ctx context.Context, key string, hash []byte, run func(ctx context.Context) Response) (Result, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		stored, claimed, err := s.claim(tx, p, key, hash)
		if err != nil {
			return err
		}
		if !claimed {
			if !bytes.Equal(stored.RequestHash, hash) {
				return ErrKeyReused
			}
			res, err = replay(stored)
			return err
		}
		res = Result{Response: run(ctx)}
		if !res.Kept() {
			return errDiscard
		}
		return s.keep(tx, p, key, res.Response)
	})
	if errors.Is(err, errDiscard) {
		return res, nil
	}
	if isLockTimeout(err) {
		return Result{}, ErrInProgress
	}
	return res, err
}

// claim inserts the key row, replacing an expired one, and reports whether it did; when it
// did not, the live row is returned. The insert waits at most s.wait for a concurrent
// transaction that holds the same key.
func (s *Store) claim(tx *gorm.DB, p auth.Principal, key string, hash []byte) (models.IdempotencyKey, bool, error) {
	now := s.now().UTC()
	if err := tx.Exec(fmt.Sprintf(`SET LOCAL lock_timeout = %d`, s.wait.Milliseconds())).Error; err != nil {
		return models.IdempotencyKey{}, false, fmt.Errorf("set the idempotency wait: %w", err)
	}
	res := tx.Exec(`INSERT INTO idempotency_keys AS k (departement, subject, key, request_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (departement, subject, key) DO UPDATE
		SET request_hash = EXCLUDED.request_hash, status = 0, headers = '{}'::jsonb, body = ''::bytea,
		    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
		WHERE k.expires_at <= EXCLUDED.created_at`, p.Departement, p.Subject, key, hash, now, now.Add(TTL))
	if res.Error != nil {
		return models.IdempotencyKey{}, false, fmt.Errorf("claim the idempotency key: %w", res.Error)
	}
	if err := tx.Exec(`SET LOCAL lock_timeout TO DEFAULT`).Error; err != nil {
		return models.IdempotencyKey{}, false, fmt.Errorf("reset the idempotency wait: %w", err)
	}
	if res.RowsAffected == 1 {
		return models.IdempotencyKey{}, true, nil
	}
	var row models.IdempotencyKey
	if err := tx.Where("departement = ? AND subject = ? AND key = ?", p.Departement, p.Subject, key).Take(&row).Error; err != nil {
		return row, false, fmt.Errorf("read the idempotency key: %w", err)
	}
	return row, false, nil
}

// keep stores the answer in the claimed key row.
func (s *Store) keep(tx *gorm.DB, p auth.Principal, key string, r Response) error {
	kept := http.Header{}
	for _, name := range KeptHeaders {
		if v := r.Header.Values(name); len(v) > 0 {
			kept[http.CanonicalHeaderKey(name)] = v
		}
	}
	header, err := json.Marshal(kept)
	if err != nil {
		return fmt.Errorf("encode the kept headers: %w", err)
	}
	err = tx.Exec(`UPDATE idempotency_keys SET status = ?, headers = ?::jsonb, body = ? WHERE departement = ? AND subject = ? AND key = ?`,
		r.Status, string(header), r.Body, p.Departement, p.Subject, key).Error
	if err != nil {
		return fmt.Errorf("keep the answer of the idempotency key: %w", err)
	}
	return nil
}

func replay(row models.IdempotencyKey) (Result, error) {
	var header http.Header
	if err := json.Unmarshal([]byte(row.Headers), &header); err != nil {
		return Result{}, fmt.Errorf("decode the kept headers: %w", err)
	}
	return Result{Response: Response{Status: row.Status, Header: header, Body: row.Body}, Replayed: true}, nil
}

// Purge deletes the keys expired before now, at most batch at a time until none is left, and
// returns how many it deleted.
func (s *Store) Purge(ctx context.Context, batch int) (int64, error) {
	var total int64
	for {
		res := s.db.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE ctid IN
			(SELECT ctid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)`, s.now().UTC(), batch)
		if res.Error != nil {
			return total, fmt.Errorf("purge idempotency keys: %w", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < int64(batch) {
			return total, nil
		}
	}
}

// isLockTimeout reports a lock_timeout expiry (SQLSTATE 55P03).
func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}
