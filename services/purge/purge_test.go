package purge_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/accompindicators"
	"parcours/services/accruals/accompanimenttest"
	"parcours/services/auth"
	"parcours/services/cumul"
	"parcours/services/demo"
	"parcours/services/indicators"
	"parcours/services/orientations"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/pii"
	"parcours/services/purge"
	"parcours/services/reports"
	"parcours/services/servicetest"
)

var purger = auth.Principal{Subject: "parcours purge", Role: auth.RoleAdmin, Departement: "47"}

func newPurge(t *testing.T, db *gorm.DB, batch int) *purge.Service {
	t.Helper()
	svc, err := purge.New(db, purge.Config{CaseRetention: purge.DefaultCaseRetention, AuditRetention: purge.DefaultAuditRetention, BatchSize: batch})
	require.NoError(t, err)
	return svc
}

func insertAudit(t *testing.T, db *gorm.DB, age string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, db.Raw(`INSERT INTO audit_events (departement, occurred_at, actor, role, action, resource, resource_id)
		VALUES ('47', now() - ?::interval, 'agent', 'agent', 'read', 'beneficiary', '1') RETURNING id`, age).Scan(&id).Error)
	return id
}

// The trail stays append-only for its owner; only the declared purge path removes an event,
// and only one older than the retention it declares and than a year.
func TestTheAuditTrailOnlyLetsExpiredEventsGo(t *testing.T) {
	db := servicetest.NewDB(t)
	expired, recent := insertAudit(t, db, "400 days"), insertAudit(t, db, "200 days")
	declare := func(tx *gorm.DB, retention string) {
		require.NoError(t, tx.Exec(`SELECT set_config('parcours.purge', 'audit_retention', true), set_config('parcours.audit_retention', ?, true)`, retention).Error)
	}
	for _, tt := range []struct {
		name      string
		retention string // "" : no purge declared
		stmt      string
		id        int64
	}{
		{"a plain delete", "", `DELETE FROM audit_events WHERE id = ?`, expired},
		{"a purge-path delete of a recent event", "1 year", `DELETE FROM audit_events WHERE id = ?`, recent},
		{"a purge claiming a retention under the floor", "1 day", `DELETE FROM audit_events WHERE id = ?`, recent},
		{"an expired event within a longer retention", "2 years", `DELETE FROM audit_events WHERE id = ?`, expired},
		{"an update on the purge path", "1 year", `UPDATE audit_events SET actor = 'x' WHERE id = ?`, expired},
		{"a truncate on the purge path", "1 year", `TRUNCATE audit_events`, 0},
	} {
		err := db.Transaction(func(tx *gorm.DB) error {
			if tt.retention != "" {
				declare(tx, tt.retention)
			}
			if tt.id == 0 {
				return tx.Exec(tt.stmt).Error
			}
			return tx.Exec(tt.stmt, tt.id).Error
		})
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), "SQLSTATE 42501", tt.name)
	}
	var n int64
	require.NoError(t, db.Table("audit_events").Count(&n).Error)
	require.Equal(t, int64(2), n, "nothing went")

	require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
		declare(tx, "1 year")
		res := tx.Exec(`DELETE FROM audit_events WHERE id = ?`, expired)
		require.Equal(t, int64(1), res.RowsAffected)
		return res.Error
	}), "an expired event goes through the purge path")
	err := db.Exec(`DELETE FROM audit_events WHERE id = ?`, recent).Error
	require.Error(t, err, "the declaration ended with its transaction")
}

// world is the demo département with accompaniment and still pathways: everything the demo
// wrote is moved six years back, then a few people get recent activity.
type world struct {
	db                                *gorm.DB
	ended, open, reoriented, newcomer int64
	recentAudit, expiredA, expiredB   int64
	still                             int64 // people the purge anonymises
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := servicetest.NewDB(t)
	cipher, err := pii.NewCipher(bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	_, err = demo.Seed(context.Background(), db, cipher)
	require.NoError(t, err)
	w := &world{db: db}
	var people []models.Beneficiary
	require.NoError(t, db.Order("id").Find(&people).Error)
	require.Len(t, people, 10)
	f := accompanimenttest.New(t, db, "47")
	programme := func(code string) int64 {
		var id int64
		require.NoError(t, db.Table("programmes").Where("code = ?", code).Pluck("id", &id).Error)
		return id
	}
	org := func(name string) int64 {
		var id int64
		require.NoError(t, db.Table("organisations").Where("name = ?", name).Pluck("id", &id).Error)
		return id
	}
	w.ended = people[0].ID
	e := f.Enrolment(accompanimenttest.Enrolment{Beneficiary: w.ended, Programme: programme("paajm"), Organisation: org("Solincité"),
		StartedOn: "2020-01-06", FirstAppointmentOn: "2020-01-10", EndedOn: "2020-05-10", ExitReason: "training"})
	f.Event(e, "diagnostic_interview", "2020-01-06")
	f.Contract(e, w.ended, "cer", "2020-01-20")
	f.Enrolment(accompanimenttest.Enrolment{Beneficiary: people[1].ID, Programme: programme("aide_permis"), Organisation: org(demo.DASI),
		StartedOn: "2020-02-01", EndedOn: "2020-03-01", ExitReason: "other"})
	w.open = people[2].ID
	f.Enrolment(accompanimenttest.Enrolment{Beneficiary: w.open, Programme: programme("paajm"), Organisation: org("Solincité"), StartedOn: "2020-03-02"})
	for _, table := range []string{"beneficiaries", "convocations", "formal_notices", "enrolments", "cumul_agreements"} {
		require.NoError(t, db.Exec(`UPDATE `+table+` SET created_at = created_at - interval '6 years', updated_at = updated_at - interval '6 years'`).Error)
	}
	for _, table := range []string{"orientations", "enrolment_events", "contracts", "cumul_allocations"} {
		require.NoError(t, db.Exec(`UPDATE `+table+` SET created_at = created_at - interval '6 years'`).Error)
	}
	w.reoriented = people[3].ID
	f.Orientation(w.reoriented, org(demo.PoleEmploiAgen), time.Now().Format(time.DateOnly), "")
	w.newcomer = pathwaytest.New(t, db).Beneficiary(pathwaytest.Person{Territory: "47-AGEN2", RightsOpenedOn: "2026-01-05"})
	w.still = 10 - 2
	w.expiredA, w.expiredB, w.recentAudit = insertAudit(t, db, "400 days"), insertAudit(t, db, "2 years"), insertAudit(t, db, "300 days")
	return w
}

func (w *world) people(t *testing.T) map[int64]models.Beneficiary {
	t.Helper()
	var rows []models.Beneficiary
	require.NoError(t, w.db.Find(&rows).Error)
	out := map[int64]models.Beneficiary{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

// aggregates are the spend and indicator reports of 2020 and the indicator report of 2019.
func (w *world) aggregates(t *testing.T) []any {
	t.Helper()
	registry := indicators.NewRegistry()
	orientations.RegisterIndicators(registry)
	accompindicators.RegisterIndicators(registry)
	cumul.RegisterIndicators(registry)
	svc := reports.New(w.db, registry)
	ctx := servicetest.As(servicetest.Admin47)
	asOf := time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC)
	spend, err := svc.Spend(ctx, 2020, &asOf)
	require.NoError(t, err)
	inds, err := svc.Indicators(ctx, 2020)
	require.NoError(t, err)
	inds19, err := svc.Indicators(ctx, 2019)
	require.NoError(t, err)
	require.True(t, spend.Totals.Accrued.IsPositive(), "the enrolments accrue spend")
	valued := 0
	for _, r := range append(inds.Rows, inds19.Rows...) {
		if r.Value.Valid && !r.Value.Decimal.IsZero() {
			valued++
		}
	}
	require.Greater(t, valued, 3, "indicators with values")
	return []any{spend, inds, inds19}
}

func TestPurgeAnonymisesStillPathwaysAndKeepsTheAggregates(t *testing.T) {
	w := newWorld(t)
	before := w.people(t)
	aggregates := w.aggregates(t)
	var auditBefore int64
	require.NoError(t, w.db.Table("audit_events").Count(&auditBefore).Error)
	ctx := servicetest.As(purger)
	svc := newPurge(t, w.db, 3)

	dry, err := svc.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, w.still, dry.Anonymised)
	assert.Equal(t, int64(2), dry.AuditEvents)
	assert.True(t, dry.DryRun)
	assert.Equal(t, before, w.people(t), "a dry run changes nothing")
	var auditAfterDry int64
	require.NoError(t, w.db.Table("audit_events").Count(&auditAfterDry).Error)
	assert.Equal(t, auditBefore, auditAfterDry, "not even the trail")

	rep, err := svc.Run(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, w.still, rep.Anonymised)
	assert.Equal(t, int64(2), rep.AuditEvents)
	assert.Equal(t, 3+1, rep.Transactions, "8 people by 3, then 2 audit events in one batch")

	after := w.people(t)
	hexNumber := regexp.MustCompile(`^ANON-[0-9a-f]{24}$`)
	numbers := map[string]bool{}
	for id, b := range after {
		was := before[id]
		switch id {
		case w.open, w.reoriented, w.newcomer:
			assert.Equal(t, was, b, "beneficiary %d has a moving pathway", id)
			continue
		}
		assert.Equal(t, purge.AnonymisedName, b.LastName)
		assert.Equal(t, purge.AnonymisedName, b.FirstName)
		assert.Nil(t, b.NIRCiphertext)
		assert.Nil(t, b.NIRHash)
		assert.Nil(t, b.Phone)
		assert.Nil(t, b.Email)
		assert.Empty(t, b.Commune)
		assert.Equal(t, time.Date(was.BirthDate.Year(), 1, 1, 0, 0, 0, 0, time.UTC), b.BirthDate.UTC())
		assert.Regexp(t, hexNumber, b.AllocataireNumber)
		assert.NotContains(t, numbers, b.AllocataireNumber)
		numbers[b.AllocataireNumber] = true
		assert.Equal(t, was.Version+1, b.Version)
		was.LastName, was.FirstName, was.NIRCiphertext, was.NIRHash, was.Phone, was.Email, was.Commune = b.LastName, b.FirstName, nil, nil, nil, nil, ""
		was.BirthDate, was.AllocataireNumber, was.Version, was.UpdatedAt = b.BirthDate, b.AllocataireNumber, b.Version, b.UpdatedAt
		assert.Equal(t, was, b, "beneficiary %d keeps what the aggregates read", id)
	}
	require.NotNil(t, before[w.ended].NIRCiphertext, "the demo records a NIR")

	assert.Equal(t, aggregates, w.aggregates(t), "indicators and spend are the same after the purge")

	var trail []models.AuditEvent
	require.NoError(t, w.db.Where("actor = ?", purger.Subject).Order("id").Find(&trail).Error)
	require.Len(t, trail, int(w.still)+1, "one audited anonymisation per person, one audited audit purge")
	for _, e := range trail[:w.still] {
		assert.Equal(t, []string{purge.ActionAnonymise, "beneficiary"}, []string{e.Action, e.Resource})
	}
	assert.Equal(t, []string{purge.ActionPurge, "audit_event"}, []string{trail[w.still].Action, trail[w.still].Resource})
	assert.Equal(t, fmtSpan(w.expiredA, w.expiredB), trail[w.still].ResourceID)
	var left []int64
	require.NoError(t, w.db.Table("audit_events").Where("id IN ?", []int64{w.expiredA, w.expiredB, w.recentAudit}).Pluck("id", &left).Error)
	assert.Equal(t, []int64{w.recentAudit}, left)

	again, err := svc.Run(ctx, false)
	require.NoError(t, err)
	assert.Zero(t, again.Anonymised, "an anonymised record is not anonymised twice")
	assert.Zero(t, again.AuditEvents)
}

func fmtSpan(a, b int64) string { return fmt.Sprintf("%d-%d", min(a, b), max(a, b)) }

func TestPurgeRules(t *testing.T) {
	db := servicetest.NewDB(t)
	_, err := purge.New(db, purge.Config{CaseRetention: purge.DefaultCaseRetention, AuditRetention: purge.Retention{Months: 6}})
	assert.ErrorContains(t, err, "shorter than the P1Y the database enforces")
	svc := newPurge(t, db, 0)
	_, err = svc.Run(servicetest.As(auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"}), true)
	assert.ErrorIs(t, err, services.ErrForbidden)

	for raw, want := range map[string]purge.Retention{"P2Y": {Years: 2}, "p18m": {Months: 18}, "P1Y6M": {Years: 1, Months: 6}, " P400D ": {Days: 400}} {
		got, err := purge.ParseRetention(raw)
		require.NoError(t, err, raw)
		assert.Equal(t, want, got, raw)
	}
	for _, raw := range []string{"", "P", "P0D", "2 years", "P1W", "PT1H", "P-1Y", "P99999Y"} {
		_, err := purge.ParseRetention(raw)
		assert.Error(t, err, raw)
	}
	assert.Equal(t, "P1Y6M", purge.Retention{Years: 1, Months: 6}.String())
}
