// Package purge applies the retention rules of personal data (`parcours purge`): it
// anonymises the beneficiaries whose pathway has been still for the case retention, and
// deletes the audit events older than the audit retention, in batches of short
// transactions, each audited.
//
// A beneficiary is anonymised when nothing about them moved for the case retention (two years
// by default): the record was neither created nor updated, and no convocation, formal notice,
// orientation decision, enrolment (an open one always counts as ongoing), enrolment event,
// contract, cumul agreement or cumul allocation of theirs was written or falls on a day
// (sent, session, catch-up, deadline, decision, notice, start, exit, signature, contract end,
// agreement end, allocation month) within it. Anonymising keeps what the aggregates read —
// territory, household, rights dates, flags, every pathway row — and removes who the person
// is: both names become "ANONYMISÉ", the NIR (ciphertext and lookup hash), phone, email and
// commune are cleared, the birth date keeps its year only (1 January), and the allocataire
// number becomes "ANON-" followed by 24 hex digits of SHA-256 over a random salt drawn for
// the run (never stored) and the record's id: unique, so the payer's key stays unique, and
// unrelated to the number, which no one can recover or match against a later flux. A person
// the flux announces again is a new record.
//
// Audit events leave the trail only through the path its trigger allows: the purge declares
// itself in the transaction (parcours.purge = 'audit_retention', parcours.audit_retention =
// the retention), and the database still refuses any event younger than that retention or
// than a year.
package purge

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

// Audit actions of the purge.
const (
	ActionAnonymise = "anonymise"
	ActionPurge     = "purge"
)

// DefaultBatchSize is how many rows one transaction changes at most.
const DefaultBatchSize = 1000

// AnonymisedName replaces the names of an anonymised beneficiary.
const AnonymisedName = "ANONYMISÉ"

// Config is what a purge applies.
type Config struct {
	CaseRetention  Retention
	AuditRetention Retention
	BatchSize      int // rows per transaction; DefaultBatchSize when zero
}

// Report says what a purge did, or would do in a dry run.
type Report struct {
	DryRun       bool
	CaseCutoff   time.Time // beneficiaries still since before it are anonymised
	AuditCutoff  time.Time // audit events older than it are deleted
	Anonymised   int64
	AuditEvents  int64
	Transactions int
}

// Service applies the retention rules to the caller's département.
type Service struct {
	db  *gorm.DB
	cfg Config
}

// New returns a purge of db under cfg; an audit retention under AuditFloor is refused, as
// the database would refuse it.
func New(db *gorm.DB, cfg Config) (*Service, error) {
	if cfg.AuditRetention.days() < AuditFloor.days() {
		return nil, fmt.Errorf("audit retention %s is shorter than the %s the database enforces", cfg.AuditRetention, AuditFloor)
	}
	if cfg.CaseRetention.days() <= 0 {
		return nil, errors.New("case retention must be positive")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	return &Service{db: db, cfg: cfg}, nil
}

// Run applies the rules to the département of the administrator in ctx (services.ErrForbidden
// for any other role), one batch per transaction, each audited in its transaction. A dry run
// counts what would change and changes nothing, the trail included.
func (s *Service) Run(ctx context.Context, dryRun bool) (Report, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Report{}, err
	}
	if p.Role != auth.RoleAdmin {
		return Report{}, fmt.Errorf("role %s may not purge: %w", p.Role, services.ErrForbidden)
	}
	rep := Report{DryRun: dryRun}
	if err := s.db.WithContext(ctx).Raw(`SELECT now() - ?::interval AS case_cutoff, now() - ?::interval AS audit_cutoff`,
		s.cfg.CaseRetention.interval(), s.cfg.AuditRetention.interval()).Row().Scan(&rep.CaseCutoff, &rep.AuditCutoff); err != nil {
		return rep, fmt.Errorf("compute the retention cut-offs: %w", err)
	}
	if dryRun {
		return rep, s.count(ctx, p.Departement, &rep)
	}
	if err := s.anonymise(ctx, p.Departement, &rep); err != nil {
		return rep, err
	}
	return rep, s.deleteAudit(ctx, p.Departement, &rep)
}

// stillBeneficiaries selects, over beneficiaries b, the not yet anonymised people of
// @departement in whose pathway nothing moved since @cutoff.
const stillBeneficiaries = `b.departement = @departement
	AND b.allocataire_number NOT LIKE 'ANON-%'
	AND greatest(b.created_at, b.updated_at) < @cutoff
	AND NOT EXISTS (SELECT 1 FROM convocations c JOIN orientation_sessions s ON s.id = c.session_id
		WHERE c.beneficiary_id = b.id AND greatest(c.created_at, c.updated_at, c.sent_on, s.starts_at, c.catch_up_on) >= @cutoff)
	AND NOT EXISTS (SELECT 1 FROM formal_notices f
		WHERE f.beneficiary_id = b.id AND greatest(f.created_at, f.updated_at, f.issued_on, f.response_deadline) >= @cutoff)
	AND NOT EXISTS (SELECT 1 FROM orientations o
		WHERE o.beneficiary_id = b.id AND greatest(o.created_at, o.decided_on, o.notified_on, o.superseded_on) >= @cutoff)
	AND NOT EXISTS (SELECT 1 FROM enrolments e
		WHERE e.beneficiary_id = b.id AND (e.ended_on IS NULL
			OR greatest(e.created_at, e.updated_at, e.started_on, e.first_appointment_on, e.ended_on) >= @cutoff))
	AND NOT EXISTS (SELECT 1 FROM enrolment_events ev JOIN enrolments e ON e.id = ev.enrolment_id
		WHERE e.beneficiary_id = b.id AND greatest(ev.created_at, ev.occurred_on) >= @cutoff)
	AND NOT EXISTS (SELECT 1 FROM contracts k
		WHERE k.beneficiary_id = b.id AND greatest(k.created_at, k.signed_on, k.ends_on) >= @cutoff)
	AND NOT EXISTS (SELECT 1 FROM cumul_agreements a
		WHERE a.beneficiary_id = b.id AND greatest(a.created_at, a.updated_at, a.ends_on) >= @cutoff)
	AND NOT EXISTS (SELECT 1 FROM cumul_allocations al JOIN cumul_agreements a ON a.id = al.agreement_id
		WHERE a.beneficiary_id = b.id AND greatest(al.created_at, al.month + interval '1 month' - interval '1 day') >= @cutoff)`

// expiredAudit selects the audit events of @departement older than @cutoff.
const expiredAudit = `departement = @departement AND occurred_at < @cutoff`

// count fills rep with what a run would change.
func (s *Service) count(ctx context.Context, departement string, rep *Report) error {
	db := s.db.WithContext(ctx)
	if err := db.Raw(`SELECT count(*) FROM beneficiaries b WHERE `+stillBeneficiaries,
		map[string]any{"departement": departement, "cutoff": rep.CaseCutoff}).Scan(&rep.Anonymised).Error; err != nil {
		return fmt.Errorf("count the beneficiaries to anonymise: %w", err)
	}
	if err := db.Raw(`SELECT count(*) FROM audit_events WHERE `+expiredAudit,
		map[string]any{"departement": departement, "cutoff": rep.AuditCutoff}).Scan(&rep.AuditEvents).Error; err != nil {
		return fmt.Errorf("count the expired audit events: %w", err)
	}
	return nil
}

// anonymise anonymises the still beneficiaries, one batch per transaction, until none is left.
// A record another transaction holds is skipped: it is moving, so not still.
func (s *Service) anonymise(ctx context.Context, departement string, rep *Report) error {
	salt := rand.Text()
	return s.inBatches(ctx, rep, &rep.Anonymised, func(ctx context.Context, tx *gorm.DB) ([]int64, error) {
		var ids []int64
		if err := tx.Raw(`WITH batch AS (
				SELECT b.id FROM beneficiaries b WHERE `+stillBeneficiaries+`
				ORDER BY b.id LIMIT @limit FOR UPDATE OF b SKIP LOCKED)
			UPDATE beneficiaries b SET last_name = @name, first_name = @name,
				nir_ciphertext = NULL, nir_hash = NULL, phone = NULL, email = NULL, commune = '',
				birth_date = date_trunc('year', b.birth_date)::date,
				allocataire_number = 'ANON-' || left(encode(sha256(convert_to(@salt || ':' || b.id, 'UTF8')), 'hex'), 24),
				version = b.version + 1, updated_at = now()
			FROM batch WHERE b.id = batch.id
			RETURNING b.id`,
			map[string]any{"departement": departement, "cutoff": rep.CaseCutoff, "limit": s.cfg.BatchSize,
				"name": AnonymisedName, "salt": salt}).Scan(&ids).Error; err != nil {
			return nil, fmt.Errorf("anonymise beneficiaries: %w", err)
		}
		return ids, audit.RecordMany(ctx, tx, ActionAnonymise, "beneficiary", idStrings(ids))
	})
}

// deleteAudit deletes the expired audit events through the trigger's purge path, one batch
// per transaction, each batch audited with the range of ids it removed.
func (s *Service) deleteAudit(ctx context.Context, departement string, rep *Report) error {
	return s.inBatches(ctx, rep, &rep.AuditEvents, func(ctx context.Context, tx *gorm.DB) ([]int64, error) {
		if err := tx.Exec(`SELECT set_config('parcours.purge', 'audit_retention', true), set_config('parcours.audit_retention', ?, true)`,
			s.cfg.AuditRetention.interval()).Error; err != nil {
			return nil, fmt.Errorf("declare the audit purge: %w", err)
		}
		var ids []int64
		if err := tx.Raw(`DELETE FROM audit_events WHERE id IN (
				SELECT id FROM audit_events WHERE `+expiredAudit+` ORDER BY id LIMIT @limit)
			RETURNING id`,
			map[string]any{"departement": departement, "cutoff": rep.AuditCutoff, "limit": s.cfg.BatchSize}).Scan(&ids).Error; err != nil {
			return nil, fmt.Errorf("delete expired audit events: %w", err)
		}
		if len(ids) == 0 {
			return nil, nil
		}
		return ids, audit.Record(ctx, tx, ActionPurge, "audit_event", idSpan(ids))
	})
}

// inBatches runs batch in one transaction after another until it changes fewer rows than a
// batch holds, adding the rows changed to *total and counting the transactions in rep.
func (s *Service) inBatches(ctx context.Context, rep *Report, total *int64, batch func(context.Context, *gorm.DB) ([]int64, error)) error {
	for {
		var ids []int64
		err := services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) (err error) {
			ids, err = batch(ctx, tx)
			return err
		})
		if err != nil {
			return err
		}
		*total += int64(len(ids))
		rep.Transactions++
		if len(ids) < s.cfg.BatchSize {
			return nil
		}
	}
}

func idStrings(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// idSpan is "lowest-highest" of ids, which must not be empty.
func idSpan(ids []int64) string {
	lo, hi := ids[0], ids[0]
	for _, id := range ids {
		lo, hi = min(lo, id), max(hi, id)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}
