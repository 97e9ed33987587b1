package idempotency_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/idempotency"
	"parcours/services/servicetest"
)

// writeTerritory returns a run that inserts territory code in the request's transaction and
// answers status.
func writeTerritory(db *gorm.DB, code string, status int, calls *atomic.Int32) func(context.Context) idempotency.Response {
	return func(ctx context.Context) idempotency.Response {
		calls.Add(1)
		if err := services.Conn(ctx, db).Exec(`INSERT INTO territories (departement, code, name) VALUES ('47', ?, ?)`, code, code).Error; err != nil {
			return idempotency.Response{Status: http.StatusInternalServerError}
		}
		return idempotency.Response{Status: status,
			Header: http.Header{"Content-Type": {"application/json"}, "Location": {"/t/" + code}, "X-Request-Id": {"first"}},
			Body:   []byte(`{"code":"` + code + `"}`)}
	}
}

func territories(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("territories").Where("code LIKE 'IDEM-%'").Count(&n).Error)
	return n
}

func keys(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("idempotency_keys").Count(&n).Error)
	return n
}

func TestReplayAndReuse(t *testing.T) {
	db := servicetest.NewDB(t)
	now := time.Date(2020, 10, 1, 8, 0, 0, 0, time.UTC)
	store := idempotency.New(db, 0).WithClock(func() time.Time { return now })
	ctx := servicetest.As(servicetest.Admin47)
	var calls atomic.Int32
	hash := idempotency.Hash("POST", "/x", []byte(`{"a":1}`))

	first, err := store.Do(ctx, "k1", hash, writeTerritory(db, "IDEM-1", http.StatusCreated, &calls))
	require.NoError(t, err)
	assert.False(t, first.Replayed)
	again, err := store.Do(ctx, "k1", hash, writeTerritory(db, "IDEM-2", http.StatusCreated, &calls))
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Status, again.Status)
	assert.Equal(t, first.Body, again.Body)
	assert.Equal(t, http.Header{"Content-Type": {"application/json"}, "Location": {"/t/IDEM-1"}}, again.Header,
		"the headers that matter, not the first request's id")
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, int64(1), territories(t, db))

	_, err = store.Do(ctx, "k1", idempotency.Hash("POST", "/x", []byte(`{"a":2}`)), writeTerritory(db, "IDEM-3", http.StatusCreated, &calls))
	assert.ErrorIs(t, err, services.ErrValidation, "same key, another body")
	assert.Equal(t, int32(1), calls.Load())
	other := servicetest.Admin47
	other.Subject = "another-admin"
	res, err := store.Do(servicetest.As(other), "k1", hash, writeTerritory(db, "IDEM-3", http.StatusCreated, &calls))
	require.NoError(t, err)
	assert.False(t, res.Replayed, "keys are per caller")
	assert.Equal(t, int64(2), territories(t, db))

	// A refusal is not kept: its write rolls back with the key, and the key may be sent again.
	refused, err := store.Do(ctx, "k2", hash, writeTerritory(db, "IDEM-4", http.StatusUnprocessableEntity, &calls))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnprocessableEntity, refused.Status)
	assert.Equal(t, int64(2), territories(t, db), "the refused request's write rolled back")
	assert.Equal(t, int64(2), keys(t, db))
	_, err = store.Do(ctx, "k2", hash, writeTerritory(db, "IDEM-4", http.StatusCreated, &calls))
	require.NoError(t, err)
	assert.Equal(t, int64(3), territories(t, db))

	// After 24 hours the key is forgotten: it may name another request.
	now = now.Add(24 * time.Hour)
	res, err = store.Do(ctx, "k1", idempotency.Hash("POST", "/x", []byte(`{"a":2}`)), writeTerritory(db, "IDEM-5", http.StatusCreated, &calls))
	require.NoError(t, err)
	assert.False(t, res.Replayed)
	now = now.Add(time.Hour)
	purged, err := store.Purge(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, int64(2), purged, "k2 and the other admin's k1, kept until an hour ago; k1 was renewed")
	assert.Equal(t, int64(1), keys(t, db))
}

// A request with the key of a request still running waits for it, then replays its answer;
// past the store's wait it gets ErrInProgress.
func TestConcurrentRequestsWithOneKey(t *testing.T) {
	db := servicetest.NewDB(t)
	ctx := servicetest.As(servicetest.Admin47)
	hash := idempotency.Hash("POST", "/x", nil)
	var calls atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context) idempotency.Response {
		close(started)
		<-release
		return writeTerritory(db, "IDEM-SLOW", http.StatusCreated, &calls)(ctx)
	}

	store := idempotency.New(db, 5*time.Second)
	var first idempotency.Result
	var wg sync.WaitGroup
	wg.Go(func() {
		var err error
		first, err = store.Do(ctx, "k", hash, slow)
		assert.NoError(t, err)
	})
	<-started
	_, err := idempotency.New(db, 100*time.Millisecond).Do(ctx, "k", hash, writeTerritory(db, "IDEM-X", http.StatusCreated, &calls))
	assert.True(t, errors.Is(err, idempotency.ErrInProgress), "past the wait: %v", err)

	var second idempotency.Result
	wg.Go(func() {
		var err error
		second, err = store.Do(ctx, "k", hash, writeTerritory(db, "IDEM-Y", http.StatusCreated, &calls))
		assert.NoError(t, err)
	})
	time.Sleep(200 * time.Millisecond) // the second request is now waiting on the key
	close(release)
	wg.Wait()
	assert.False(t, first.Replayed)
	assert.True(t, second.Replayed, "the second request waited and replayed the first answer")
	assert.Equal(t, first.Body, second.Body)
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, int64(1), territories(t, db))
}
