package enrolments

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/feed"
	"parcours/services/programmes"
)

const (
	eventResource    = "enrolment_event"
	contractResource = "contract"
)

// feedEntities are the kinds of record added to an enrolment that the change feed carries.
var feedEntities = map[string]feed.Entity{contractResource: feed.Contract}

// Event is a costed event of an enrolment.
type Event struct {
	ID          int64
	EnrolmentID int64
	Event       string
	OccurredOn  time.Time
	CreatedAt   time.Time
}

// Contract is a CER, CER for independent workers, or PPAE signed during an enrolment.
type Contract struct {
	ID            int64
	EnrolmentID   int64
	BeneficiaryID int64
	Type          string
	SignedOn      time.Time
	StartsOn      time.Time
	EndsOn        time.Time
	CreatedAt     time.Time
}

// RecordEvent records a costed event on enrolment id and audits it. Administrators and agents
// record events; the event must be a per_event unit cost of the programme and fall within the
// enrolment (from its start to its exit, or today). On a closed enrolment only an
// administrator may add one, as an audited correction.
func (s *Service) RecordEvent(ctx context.Context, id int64, in EventInput) (Event, error) {
	p, err := caller(ctx, "record costed events", caseworkers...)
	if err != nil {
		return Event{}, err
	}
	var v services.Validator
	in.check(&v, s.today())
	if err := v.Err(); err != nil {
		return Event{}, err
	}
	row := models.EnrolmentEvent{Departement: p.Departement, EnrolmentID: id, Event: *in.Event, OccurredOn: *in.OccurredOn}
	err = s.addTo(ctx, p, id, func(tx *gorm.DB, r record) error {
		var v services.Validator
		costed, err := programmes.CostsEvent(tx, r.ProgrammeID, row.Event)
		if err != nil {
			return err
		}
		v.Check(costed, "event", "is not a costed event (per_event unit cost) of programme "+r.ProgrammeCode)
		v.Check(!row.OccurredOn.Before(r.StartedOn), "occurred_on", "must not be before the start of the enrolment ("+r.StartedOn.Format(time.DateOnly)+")")
		v.Check(r.EndedOn == nil || !row.OccurredOn.After(*r.EndedOn), "occurred_on", "must not be after the exit ("+dateOf(r.EndedOn)+")")
		return v.Err()
	}, &row, &row.ID, eventResource)
	return Event{ID: row.ID, EnrolmentID: row.EnrolmentID, Event: row.Event, OccurredOn: row.OccurredOn, CreatedAt: row.CreatedAt}, err
}

// SignContract records a contract signed during enrolment id and audits it. Administrators
// and agents record any type; partners a PPAE only (another type is services.ErrForbidden). It
// is not signed before the orientation decision the enrolment follows. On a closed enrolment
// only an administrator may add one, as an audited correction.
func (s *Service) SignContract(ctx context.Context, id int64, in ContractInput) (Contract, error) {
	p, err := caller(ctx, "record contracts", participants...)
	if err != nil {
		return Contract{}, err
	}
	if p.Role == auth.RolePartner && in.Type != nil && *in.Type != ContractPPAE {
		return Contract{}, fmt.Errorf("partners record PPAE contracts only: %w", services.ErrForbidden)
	}
	var v services.Validator
	in.check(&v, s.today())
	if err := v.Err(); err != nil {
		return Contract{}, err
	}
	row := models.Contract{Departement: p.Departement, EnrolmentID: id, Type: *in.Type, SignedOn: *in.SignedOn,
		StartsOn: *in.StartsOn, EndsOn: *in.EndsOn}
	err = s.addTo(ctx, p, id, func(tx *gorm.DB, r record) error {
		row.BeneficiaryID = r.BeneficiaryID
		decided, err := orientationDecided(tx, r.OrientationID)
		if err != nil || decided == nil {
			return err
		}
		var v services.Validator
		v.Check(!row.SignedOn.Before(*decided), "signed_on", "must not be before the orientation decision ("+decided.Format(time.DateOnly)+")")
		return v.Err()
	}, &row, &row.ID, contractResource)
	return contractOf(row), err
}

// Events returns the costed events of enrolment id, by id, one keyset page at a time, and
// audits their read.
func (s *Service) Events(ctx context.Context, id int64, page services.PageRequest) (services.Page[Event], error) {
	return listOf(ctx, s, id, page, eventResource, func(r models.EnrolmentEvent) Event {
		return Event{ID: r.ID, EnrolmentID: r.EnrolmentID, Event: r.Event, OccurredOn: r.OccurredOn, CreatedAt: r.CreatedAt}
	}, func(e Event) int64 { return e.ID })
}

// Contracts returns the contracts of enrolment id, by id, one keyset page at a time, and
// audits their read.
func (s *Service) Contracts(ctx context.Context, id int64, page services.PageRequest) (services.Page[Contract], error) {
	return listOf(ctx, s, id, page, contractResource, contractOf, func(c Contract) int64 { return c.ID })
}

// addTo inserts row (whose id lands in *rowID) on enrolment id for p, in one transaction:
// the enrolment must be one p may see and open (or p an administrator correcting it), and
// check, given the enrolment, must pass. The insert is audited as a create of kind, and a
// correction as such on the enrolment; a kind the change feed carries is appended to it.
func (s *Service) addTo(ctx context.Context, p auth.Principal, id int64, check func(*gorm.DB, record) error,
	row any, rowID *int64, kind string) error {
	return services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		r, correction, err := forChange(tx, p, id)
		if err != nil {
			return err
		}
		if err := check(tx, r); err != nil {
			return err
		}
		if err := services.Insert(ctx, tx, row, rowID, kind, kind); err != nil {
			return err
		}
		if entity, ok := feedEntities[kind]; ok {
			if err := feed.Append(tx, entity, feed.Created, *rowID); err != nil {
				return err
			}
		}
		return auditCorrection(ctx, tx, id, correction)
	})
}

// listOf reads one keyset page of the rows M of enrolment id, which the caller must see, as
// T, and audits the read of each one returned as kind.
func listOf[M, T any](ctx context.Context, s *Service, id int64, page services.PageRequest, kind string,
	convert func(M) T, idOf func(T) int64) (services.Page[T], error) {
	p, err := caller(ctx, "read enrolments", participants...)
	if err != nil {
		return services.Page[T]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, page)
	if err := v.Err(); err != nil {
		return services.Page[T]{}, err
	}
	var out services.Page[T]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if _, err := findVisible(tx, p, id, false); err != nil {
			return err
		}
		var rows []M
		if err := tx.Where("enrolment_id = ? AND id > ?", id, after).Order("id").Limit(page.Limit + 1).Find(&rows).Error; err != nil {
			return fmt.Errorf("read the %s rows of enrolment %d: %w", kind, id, err)
		}
		items := make([]T, len(rows))
		for i, r := range rows {
			items[i] = convert(r)
		}
		out, err = services.AuditedPage(ctx, tx, kind, items, page.Limit, idOf)
		return err
	})
	return out, err
}

// orientationDecided is the decision date of orientation id, or nil without one.
func orientationDecided(tx *gorm.DB, id *int64) (*time.Time, error) {
	if id == nil {
		return nil, nil
	}
	var o models.Orientation
	if err := tx.Select("decided_on").Where("id = ?", *id).Take(&o).Error; err != nil {
		return nil, fmt.Errorf("read orientation %d: %w", *id, err)
	}
	return &o.DecidedOn, nil
}

func contractOf(r models.Contract) Contract {
	return Contract{ID: r.ID, EnrolmentID: r.EnrolmentID, BeneficiaryID: r.BeneficiaryID, Type: r.Type, SignedOn: r.SignedOn,
		StartsOn: r.StartsOn, EndsOn: r.EndsOn, CreatedAt: r.CreatedAt}
}
