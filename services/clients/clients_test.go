package clients_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/clients"
	"parcours/services/clients/clientstest"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/servicetest"
)

type fixture struct {
	db     *gorm.DB
	tokens *auth.Tokens
	clock  *clientstest.Clock
	svc    *clients.Service
	org    int64
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	db := servicetest.NewDB(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tokens := auth.NewTokens(auth.NewKeyset(key), auth.TokenConfig{Issuer: "parcours", Audience: "parcours-api"})
	c := clientstest.NewClock(time.Now().UTC())
	fx := pathwaytest.New(t, db)
	return fixture{db: db, tokens: tokens, clock: c, svc: clients.New(db, tokens).WithClock(c.Now).WithHashCost(bcrypt.MinCost),
		org: fx.Organisation("Pôle emploi Agen (clients)", "pole_emploi")}
}

func (f fixture) create(t *testing.T, scopes ...string) clients.Credentials {
	t.Helper()
	name := "Système PE " + strconv.Itoa(len(scopes)) + rand.Text()[:4]
	creds, err := f.svc.Create(servicetest.As(servicetest.Admin47), clients.Input{Name: &name, OrganisationID: &f.org, Scopes: scopes})
	require.NoError(t, err)
	return creds
}

func (f fixture) auditCount(t *testing.T, action string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, f.db.Model(&models.AuditEvent{}).Where("resource = 'api_client' AND action = ?", action).Count(&n).Error)
	return n
}

func refusal(t *testing.T, err error) *clients.GrantError {
	t.Helper()
	var g *clients.GrantError
	require.True(t, errors.As(err, &g), "want a grant refusal, got %v", err)
	return g
}

func TestCreateValidatesAndHashes(t *testing.T) {
	f := newFixture(t)
	ctx := servicetest.As(servicetest.Admin47)
	name, other := " Système PE ", int64(999999)
	_, err := f.svc.Create(ctx, clients.Input{Name: &name, OrganisationID: &other, Scopes: []string{"beneficiaries:read", "root:all"}})
	var v *services.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Len(t, v.Fields, 1, "the scopes are checked before the organisation: %v", v)
	_, err = f.svc.Create(ctx, clients.Input{Name: &name, OrganisationID: &other, Scopes: []string{"beneficiaries:read"}})
	require.ErrorAs(t, err, &v)
	assert.Equal(t, "organisation_id", v.Fields[0].Field)

	creds, err := f.svc.Create(ctx, clients.Input{Name: &name, OrganisationID: &f.org,
		Scopes: []string{"events:read", "beneficiaries:read", "events:read"}})
	require.NoError(t, err)
	assert.Equal(t, "Système PE", creds.Name)
	assert.Equal(t, []string{"beneficiaries:read", "events:read"}, creds.Scopes, "canonical order, no repeats")
	assert.Len(t, creds.Secret, 43, "32 random bytes, base64url")
	var stored models.APIClient
	require.NoError(t, f.db.Where("id = ?", creds.ID).Take(&stored).Error)
	assert.NotContains(t, stored.SecretHash, creds.Secret)
	assert.Regexp(t, `^\$2a\$04\$`, stored.SecretHash, "bcrypt, at the cost the test asks")

	_, err = f.svc.Create(ctx, clients.Input{Name: &name, OrganisationID: &f.org, Scopes: []string{"events:read"}})
	assert.ErrorIs(t, err, services.ErrConflict, "a name is taken once per département")
	_, err = f.svc.Create(servicetest.As(auth.Principal{Subject: "a", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}),
		clients.Input{Name: &name, OrganisationID: &f.org, Scopes: []string{"events:read"}})
	assert.ErrorIs(t, err, services.ErrForbidden)
}

func TestIssueMintsAPartnerTokenWithTheScopesAskedFor(t *testing.T) {
	f := newFixture(t)
	creds := f.create(t, clients.ScopeBeneficiariesRead, clients.ScopeAttendanceWrite)
	grant, err := f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: creds.Secret})
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, grant.ExpiresIn)
	p, err := f.tokens.Verify(grant.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, auth.Principal{Subject: "client:" + creds.ClientID, Role: auth.RolePartner, Departement: "47",
		Organisation: strconv.FormatInt(f.org, 10), Scopes: []string{"beneficiaries:read", "attendance:write"}}, p)

	grant, err = f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: creds.Secret, Scopes: []string{"attendance:write"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"attendance:write"}, grant.Scopes)
	_, err = f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: creds.Secret, Scopes: []string{"contracts:write"}})
	assert.Equal(t, clients.ErrorInvalidScope, refusal(t, err).Code)
	assert.Equal(t, int64(2), f.auditCount(t, clients.ActionTokenIssued))
	assert.Equal(t, int64(1), f.auditCount(t, clients.ActionTokenRefused))
}

// Ten failed attempts within a minute lock the client for a minute: the eleventh attempt,
// with the right secret, is refused during the lock and accepted after it.
func TestLockoutAfterTenFailures(t *testing.T) {
	f := newFixture(t)
	creds := f.create(t, clients.ScopeBeneficiariesRead)
	wrong := clients.TokenRequest{ClientID: creds.ClientID, Secret: "not-the-secret"}
	right := clients.TokenRequest{ClientID: creds.ClientID, Secret: creds.Secret}

	for range 10 {
		_, err := f.svc.Issue(t.Context(), wrong)
		assert.Equal(t, clients.ErrorInvalidClient, refusal(t, err).Code)
		f.clock.Advance(5 * time.Second)
	}
	_, err := f.svc.Issue(t.Context(), right)
	assert.Contains(t, refusal(t, err).Description, "locked until", "the right secret is refused during the lock")
	client, err := f.svc.Get(servicetest.As(servicetest.Admin47), creds.ID)
	require.NoError(t, err)
	require.NotNil(t, client.LockedUntil)

	f.clock.Advance(54 * time.Second) // the tenth failure, 5 s before the eleventh attempt, locked until 1 s from now
	_, err = f.svc.Issue(t.Context(), right)
	assert.Contains(t, refusal(t, err).Description, "locked until")
	f.clock.Advance(time.Second)
	_, err = f.svc.Issue(t.Context(), right)
	require.NoError(t, err, "the lock is over")
	assert.Equal(t, int64(12), f.auditCount(t, clients.ActionTokenRefused), "every refusal of a known client is audited")

	// Failures spread over more than a minute do not lock.
	for range 3 {
		for range 9 {
			_, err := f.svc.Issue(t.Context(), wrong)
			refusal(t, err)
		}
		f.clock.Advance(61 * time.Second)
	}
	_, err = f.svc.Issue(t.Context(), right)
	require.NoError(t, err)
}

// Concurrent failures are counted one by one under the row lock: 10 at once lock the client.
func TestConcurrentFailuresLock(t *testing.T) {
	f := newFixture(t)
	creds := f.create(t, clients.ScopeBeneficiariesRead)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: "wrong"})
			assert.Error(t, err)
		})
	}
	wg.Wait()
	_, err := f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: creds.Secret})
	assert.Contains(t, refusal(t, err).Description, "locked until")
}

func TestRotateAndRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := servicetest.As(servicetest.Admin47)
	creds := f.create(t, clients.ScopeBeneficiariesRead)
	rotated, err := f.svc.Rotate(ctx, creds.ID)
	require.NoError(t, err)
	assert.NotEqual(t, creds.Secret, rotated.Secret)
	assert.Equal(t, 2, rotated.Version)
	_, err = f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: creds.Secret})
	assert.Equal(t, clients.ErrorInvalidClient, refusal(t, err).Code, "the old secret stops working")
	grant, err := f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: rotated.Secret})
	require.NoError(t, err)

	subject := "client:" + creds.ClientID
	active, err := f.svc.Active(t.Context(), "47", subject)
	require.NoError(t, err)
	assert.True(t, active)
	revoked, err := f.svc.Revoke(ctx, creds.ID)
	require.NoError(t, err)
	assert.False(t, revoked.Active)
	assert.NotNil(t, revoked.RevokedAt)
	active, err = f.svc.Active(t.Context(), "47", subject)
	require.NoError(t, err)
	assert.False(t, active, "the tokens it holds are refused from now on")
	_, err = f.tokens.Verify(grant.AccessToken)
	require.NoError(t, err, "the signature alone is still good: the API asks Active")
	_, err = f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: creds.ClientID, Secret: rotated.Secret})
	assert.Contains(t, refusal(t, err).Description, "revoked")
	_, err = f.svc.Rotate(ctx, creds.ID)
	assert.ErrorIs(t, err, services.ErrConflict)
	_, err = f.svc.Get(servicetest.As(auth.Principal{Subject: "x", Role: auth.RoleAdmin, Departement: "33"}), creds.ID)
	assert.ErrorIs(t, err, services.ErrNotFound, "another département's client")

	_, err = f.svc.Issue(t.Context(), clients.TokenRequest{ClientID: "unknown", Secret: "x"})
	assert.Equal(t, clients.ErrorInvalidClient, refusal(t, err).Code)
}
