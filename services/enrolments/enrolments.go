// Package enrolments records beneficiaries' accompaniment in programmes: the enrolment and its
// start, first appointment, renewals and exit; its costed events; its CER and PPAE contracts;
// and the timeline events they add to a pathway. The rules are the programme's (who provides
// it, its capacity, duration and renewals) and the pathway's (dates in order, one open
// enrolment per person and programme, a closed enrolment read-only but to an administrator's
// audited correction).
package enrolments

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/feed"
	"parcours/services/programmes"
)

const resource = "enrolment"

// Enrolment is an enrolment as the service hands it out.
type Enrolment struct {
	ID                 int64
	BeneficiaryID      int64
	ProgrammeCode      string
	OrganisationID     int64
	ReferentID         *int64
	OrientationID      *int64
	StartedOn          time.Time
	FirstAppointmentOn *time.Time
	Renewals           int
	EndedOn            *time.Time
	ExitReason         *string
	Version            int
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Filter narrows List; zero fields do not filter.
type Filter struct {
	BeneficiaryID int64
	Programme     string // a programme code
	Open          *bool  // true: not ended; false: ended
	Page          services.PageRequest
}

// Service records enrolments, their events and contracts.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns an enrolment service over db.
func New(db *gorm.DB) *Service { return &Service{db: db, now: time.Now} }

func (s *Service) today() time.Time { return today(s.now()) }

// Create enrols a beneficiary the caller may see (else services.ErrNotFound) in a programme,
// at an organisation that provides it, with a referent of that organisation and an
// orientation of that person (a *services.ValidationError naming the field otherwise).
// Administrators and agents enrol. A second open enrolment of the person in the programme is a
// *services.DuplicateError; a programme at capacity a services.ErrConflict. Open enrolments
// are counted under a lock on the programme, so two enrolments cannot both take its last
// place.
func (s *Service) Create(ctx context.Context, in Input) (Enrolment, error) {
	p, err := caller(ctx, "enrol beneficiaries", caseworkers...)
	if err != nil {
		return Enrolment{}, err
	}
	var v services.Validator
	in.check(&v, s.today())
	if err := v.Err(); err != nil {
		return Enrolment{}, err
	}
	var out Enrolment
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := checkBeneficiary(tx, p, *in.BeneficiaryID); err != nil {
			return err
		}
		prog, err := lockProgramme(tx, p.Departement, *in.ProgrammeCode)
		if err != nil {
			return err
		}
		if err := checkReferences(tx, p.Departement, prog, in); err != nil {
			return err
		}
		if err := checkPlace(tx, prog, *in.BeneficiaryID); err != nil {
			return err
		}
		row := models.Enrolment{Departement: p.Departement, BeneficiaryID: *in.BeneficiaryID, ProgrammeID: prog.ID,
			OrganisationID: *in.OrganisationID, ReferentID: in.ReferentID, OrientationID: in.OrientationID,
			StartedOn: *in.StartedOn, Version: 1}
		if err := services.Insert(ctx, tx, &row, &row.ID, resource, "an open enrolment of this person in programme "+prog.Code); err != nil {
			return err
		}
		out = present(record{Enrolment: row, ProgrammeCode: prog.Code})
		return feed.Append(tx, feed.Enrolment, feed.Created, row.ID)
	})
	return out, err
}

// Get returns enrolment id if the caller may see it, and audits the read.
func (s *Service) Get(ctx context.Context, id int64) (Enrolment, error) {
	p, err := caller(ctx, "read enrolments", participants...)
	if err != nil {
		return Enrolment{}, err
	}
	return services.AuditedRead(ctx, s.db, resource, id, func(tx *gorm.DB) (Enrolment, error) {
		r, err := findVisible(tx, p, id, false)
		return present(r), err
	})
}

// List returns the enrolments the caller may see, by id, one keyset page at a time, and
// audits the read of each one returned.
func (s *Service) List(ctx context.Context, f Filter) (services.Page[Enrolment], error) {
	p, err := caller(ctx, "read enrolments", participants...)
	if err != nil {
		return services.Page[Enrolment]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, f.Page)
	v.Check(f.BeneficiaryID >= 0, "beneficiary", "must be a positive id")
	if err := v.Err(); err != nil {
		return services.Page[Enrolment]{}, err
	}
	var page services.Page[Enrolment]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		rows, err := selectRecords(tx, p, func(q *gorm.DB) *gorm.DB {
			if f.BeneficiaryID > 0 {
				q = q.Where("e.beneficiary_id = ?", f.BeneficiaryID)
			}
			if f.Programme != "" {
				q = q.Where("pr.code = ?", f.Programme)
			}
			if f.Open != nil {
				q = q.Where("(e.ended_on IS NULL) = ?", *f.Open)
			}
			return q.Where("e.id > ?", after).Order("e.id").Limit(f.Page.Limit + 1)
		})
		if err != nil {
			return err
		}
		items := make([]Enrolment, len(rows))
		for i, r := range rows {
			items[i] = present(r)
		}
		page, err = services.AuditedPage(ctx, tx, resource, items, f.Page.Limit, func(e Enrolment) int64 { return e.ID })
		return err
	})
	return page, err
}

// Update records a first appointment, renewals or an exit on enrolment id if it is still at
// expectedVersion, bumps its version and audits it. Partners record first appointments and
// exits at their organisation only (renewals: services.ErrForbidden). A closed enrolment is
// read-only (services.ErrConflict) but to an administrator, whose change is audited as
// ActionCorrect. Broken date, duration or renewal rules are a *services.ValidationError.
func (s *Service) Update(ctx context.Context, id int64, expectedVersion int, ch Change) (Enrolment, error) {
	p, err := caller(ctx, "change enrolments", participants...)
	if err != nil {
		return Enrolment{}, err
	}
	if p.Role == auth.RolePartner && ch.Renewals != nil {
		return Enrolment{}, fmt.Errorf("partners record first appointments and exits, not renewals: %w", services.ErrForbidden)
	}
	var v services.Validator
	ch.check(&v, s.today())
	if err := v.Err(); err != nil {
		return Enrolment{}, err
	}
	var out Enrolment
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		r, correction, err := forChange(tx, p, id)
		if err != nil {
			return err
		}
		if err := services.CheckVersion(fmt.Sprintf("enrolment %d", id), r.Version, expectedVersion); err != nil {
			return err
		}
		services.Set(&r.Renewals, ch.Renewals)
		r.FirstAppointmentOn = orKeep(r.FirstAppointmentOn, ch.FirstAppointmentOn)
		r.EndedOn = orKeep(r.EndedOn, ch.EndedOn)
		r.ExitReason = orKeep(r.ExitReason, ch.ExitReason)
		if err := s.checkChange(tx, r, ch); err != nil {
			return err
		}
		if err := services.SaveVersion(tx, &r.Enrolment, &r.Version, fmt.Sprintf("enrolment %d", id), map[string]any{
			"first_appointment_on": r.FirstAppointmentOn, "renewals": r.Renewals, "ended_on": r.EndedOn,
			"exit_reason": r.ExitReason,
		}); err != nil {
			return err
		}
		action := audit.ActionUpdate
		if correction {
			action = ActionCorrect
		}
		out = present(r)
		if err := feed.Append(tx, feed.Enrolment, feed.Updated, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, action, resource, strconv.FormatInt(id, 10))
	})
	return out, err
}

// checkChange applies the rules of an enrolment after a change, naming every bad field: the
// first appointment and the exit not before the start, the appointment not after the exit,
// the exit not before a recorded event or contract, ended_on and exit_reason together, the
// renewals within the programme's, and the duration — up to the exit, or today for an open
// enrolment being renewed — within max_months × (1 + renewals).
func (s *Service) checkChange(tx *gorm.DB, r record, ch Change) error {
	var v services.Validator
	started := r.StartedOn.Format(time.DateOnly)
	first, ended := r.FirstAppointmentOn, r.EndedOn
	v.Check(first == nil || !first.Before(r.StartedOn), "first_appointment_on", "must not be before the start of the enrolment ("+started+")")
	v.Check(ended == nil || !ended.Before(r.StartedOn), "ended_on", "must not be before the start of the enrolment ("+started+")")
	v.Check(first == nil || ended == nil || !first.After(*ended), "first_appointment_on", "must not be after the exit ("+dateOf(ended)+")")
	v.Check(ended != nil || r.ExitReason == nil, "ended_on", "is required with exit_reason")
	v.Check(ended == nil || r.ExitReason != nil, "exit_reason", "is required with ended_on")
	var prog models.Programme
	if err := tx.Where("id = ?", r.ProgrammeID).Take(&prog).Error; err != nil {
		return fmt.Errorf("read programme %d: %w", r.ProgrammeID, err)
	}
	v.Check(ch.Renewals == nil || r.Renewals <= prog.MaxRenewals, "renewals",
		fmt.Sprintf("must be at most %d: programme %s allows no more renewals", prog.MaxRenewals, prog.Code))
	if prog.MaxMonths != nil && (ch.EndedOn != nil || ch.Renewals != nil) {
		months := *prog.MaxMonths * (1 + r.Renewals)
		limit, end, field := addMonths(r.StartedOn, months), s.today(), "renewals"
		if ended != nil {
			end = *ended
		}
		if ch.EndedOn != nil {
			field = "ended_on"
		}
		v.Check(!end.After(limit), field, fmt.Sprintf("the enrolment would last beyond the %d months programme %s allows with %d renewals (until %s)",
			months, prog.Code, r.Renewals, limit.Format(time.DateOnly)))
	}
	if ch.EndedOn != nil {
		last, err := lastRecorded(tx, r.ID)
		if err != nil {
			return err
		}
		v.Check(last == nil || !ended.Before(*last), "ended_on", "must not be before the last event or contract recorded on the enrolment ("+dateOf(last)+")")
	}
	return v.Err()
}

// lastRecorded is the date of the last costed event or contract signature of enrolment id, or
// nil.
func lastRecorded(tx *gorm.DB, id int64) (*time.Time, error) {
	var last struct{ On *time.Time }
	err := tx.Raw(`SELECT greatest((SELECT max(occurred_on) FROM enrolment_events WHERE enrolment_id = @id),
		(SELECT max(signed_on) FROM contracts WHERE enrolment_id = @id)) AS "on"`, map[string]any{"id": id}).Scan(&last).Error
	if err != nil {
		return nil, fmt.Errorf("read the last records of enrolment %d: %w", id, err)
	}
	return last.On, nil
}

// checkBeneficiary answers services.ErrNotFound unless p may see beneficiary id.
func checkBeneficiary(tx *gorm.DB, p auth.Principal, id int64) error {
	visible, err := beneficiaries.Visible(tx.Session(&gorm.Session{NewDB: true}).Table("beneficiaries b").Select("b.id"), p)
	if err != nil {
		return err
	}
	var n int64
	if err := tx.Table("beneficiaries b").Where("b.id = ? AND b.id IN (?)", id, visible).Count(&n).Error; err != nil {
		return fmt.Errorf("read beneficiary %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
	}
	return nil
}

// lockProgramme reads and locks programme code, so that enrolments in it are counted one
// transaction at a time; an unknown code is a validation error.
func lockProgramme(tx *gorm.DB, departement, code string) (models.Programme, error) {
	prog, err := programmes.Find(tx.Clauses(clause.Locking{Strength: "NO KEY UPDATE"}), departement, code)
	if errors.Is(err, services.ErrNotFound) {
		return prog, &services.ValidationError{Fields: []services.FieldError{{Field: "programme_code", Message: "no programme " + code}}}
	}
	return prog, err
}

// checkReferences checks, naming each bad field, that the organisation provides the
// programme, that the referent is an active member of it, and that the orientation is one of
// the beneficiary's.
func checkReferences(tx *gorm.DB, departement string, prog models.Programme, in Input) error {
	var v services.Validator
	provides, err := programmes.Provides(tx, prog.ID, *in.OrganisationID)
	if err != nil {
		return err
	}
	v.Check(provides, "organisation_id", fmt.Sprintf("organisation %d does not provide programme %s", *in.OrganisationID, prog.Code))
	if in.ReferentID != nil {
		var refs []models.Referent
		if err := tx.Where("id = ? AND departement = ?", *in.ReferentID, departement).Limit(1).Find(&refs).Error; err != nil {
			return fmt.Errorf("read referent %d: %w", *in.ReferentID, err)
		}
		v.Check(len(refs) == 1, "referent_id", "no referent "+strconv.FormatInt(*in.ReferentID, 10))
		v.Check(len(refs) == 0 || refs[0].OrganisationID == *in.OrganisationID, "referent_id", "belongs to another organisation than organisation_id")
		v.Check(len(refs) == 0 || refs[0].Active, "referent_id", "is no longer active")
	}
	if in.OrientationID != nil {
		var decided []time.Time
		if err := tx.Model(&models.Orientation{}).Where("id = ? AND departement = ? AND beneficiary_id = ?",
			*in.OrientationID, departement, *in.BeneficiaryID).Pluck("decided_on", &decided).Error; err != nil {
			return fmt.Errorf("read orientation %d: %w", *in.OrientationID, err)
		}
		switch {
		case len(decided) == 0:
			v.Check(false, "orientation_id", "is not an orientation decision of this beneficiary")
		case in.StartedOn.Before(decided[0]):
			v.Check(false, "started_on", "must not be before the orientation decision of "+decided[0].Format(time.DateOnly))
		}
	}
	return v.Err()
}

// checkPlace refuses a second open enrolment of the person in the programme (a
// *services.DuplicateError naming it) and an enrolment in a programme whose open enrolments
// fill its capacity (services.ErrConflict).
func checkPlace(tx *gorm.DB, prog models.Programme, beneficiaryID int64) error {
	var open []int64
	if err := tx.Model(&models.Enrolment{}).Where("programme_id = ? AND beneficiary_id = ? AND ended_on IS NULL", prog.ID, beneficiaryID).
		Limit(1).Pluck("id", &open).Error; err != nil {
		return fmt.Errorf("look for open enrolments: %w", err)
	}
	if len(open) > 0 {
		return &services.DuplicateError{Resource: resource, ExistingID: open[0], Reason: "an open enrolment of this person in programme " + prog.Code}
	}
	if prog.Capacity == nil {
		return nil
	}
	var n int64
	if err := tx.Model(&models.Enrolment{}).Where("programme_id = ? AND ended_on IS NULL", prog.ID).Count(&n).Error; err != nil {
		return fmt.Errorf("count the open enrolments of programme %s: %w", prog.Code, err)
	}
	if n >= int64(*prog.Capacity) {
		return fmt.Errorf("programme %s is full: %d open enrolments for a capacity of %d: %w", prog.Code, n, *prog.Capacity, services.ErrConflict)
	}
	return nil
}

// orKeep returns change when given, else current.
func orKeep[T any](current, change *T) *T {
	if change != nil {
		return change
	}
	return current
}

func dateOf(d *time.Time) string {
	if d == nil {
		return ""
	}
	return d.Format(time.DateOnly)
}

func present(r record) Enrolment {
	return Enrolment{ID: r.ID, BeneficiaryID: r.BeneficiaryID, ProgrammeCode: r.ProgrammeCode, OrganisationID: r.OrganisationID,
		ReferentID: r.ReferentID, OrientationID: r.OrientationID, StartedOn: r.StartedOn, FirstAppointmentOn: r.FirstAppointmentOn,
		Renewals: r.Renewals, EndedOn: r.EndedOn, ExitReason: r.ExitReason, Version: r.Version, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt}
}
