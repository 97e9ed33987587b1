package enrolments

import (
	"context"
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
)

// ActionCorrect is the audit action of an administrator's change to a closed enrolment, which
// is otherwise read-only: the trail tells corrections from ordinary updates.
const ActionCorrect = "correct"

// scope restricts q, over enrolments aliased e, to those p may see: its département; for an
// agent, the enrolments of the beneficiaries it may see (its territories); for a partner, the
// enrolments at its organisation. Managers see no enrolment.
func scope(tx, q *gorm.DB, p auth.Principal) (*gorm.DB, error) {
	q = q.Where("e.departement = ?", p.Departement)
	switch p.Role {
	case auth.RoleAdmin:
		return q, nil
	case auth.RoleAgent:
		visible, err := beneficiaries.Visible(tx.Session(&gorm.Session{NewDB: true}).Table("beneficiaries b").Select("b.id"), p)
		if err != nil {
			return nil, err
		}
		return q.Where("e.beneficiary_id IN (?)", visible), nil
	case auth.RolePartner:
		org, ok := beneficiaries.OrganisationOf(p)
		if !ok {
			return q.Where("false"), nil
		}
		return q.Where("e.organisation_id = ?", org), nil
	default:
		return nil, fmt.Errorf("role %s has no access to enrolments: %w", p.Role, services.ErrForbidden)
	}
}

// record is an enrolment row with the code of its programme.
type record struct {
	models.Enrolment
	ProgrammeCode string
}

// selectRecords is the query of enrolment records p may see, narrowed by narrow.
func selectRecords(tx *gorm.DB, p auth.Principal, narrow func(*gorm.DB) *gorm.DB) ([]record, error) {
	q, err := scope(tx, tx.Table("enrolments e").Select("e.*, pr.code AS programme_code").
		Joins("JOIN programmes pr ON pr.id = e.programme_id"), p)
	if err != nil {
		return nil, err
	}
	var rows []record
	if err := narrow(q).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read enrolments: %w", err)
	}
	return rows, nil
}

// findVisible reads enrolment id if p may see it (else services.ErrNotFound), locking it
// against concurrent changes when lock is set.
func findVisible(tx *gorm.DB, p auth.Principal, id int64, lock bool) (record, error) {
	rows, err := selectRecords(tx, p, func(q *gorm.DB) *gorm.DB {
		if lock {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "e"}})
		}
		return q.Where("e.id = ?", id).Limit(1)
	})
	if err != nil {
		return record{}, err
	}
	if len(rows) == 0 {
		return record{}, fmt.Errorf("enrolment %d: %w", id, services.ErrNotFound)
	}
	return rows[0], nil
}

// forChange reads and locks enrolment id for a change by p. A closed enrolment is read-only
// (services.ErrConflict), except to an administrator, whose change is then a correction.
func forChange(tx *gorm.DB, p auth.Principal, id int64) (r record, correction bool, err error) {
	if r, err = findVisible(tx, p, id, true); err != nil {
		return r, false, err
	}
	if r.EndedOn == nil {
		return r, false, nil
	}
	if p.Role == auth.RoleAdmin {
		return r, true, nil
	}
	return r, false, fmt.Errorf("enrolment %d ended on %s and is read-only; an administrator may correct it: %w",
		id, r.EndedOn.Format(time.DateOnly), services.ErrConflict)
}

// auditCorrection records an administrator's change to a closed enrolment in the trail.
func auditCorrection(ctx context.Context, tx *gorm.DB, id int64, correction bool) error {
	if !correction {
		return nil
	}
	return audit.Record(ctx, tx, ActionCorrect, resource, strconv.FormatInt(id, 10))
}

// caller returns the principal in ctx if it has one of roles.
func caller(ctx context.Context, what string, roles ...auth.Role) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && !p.HasRole(roles...) {
		err = fmt.Errorf("role %s may not %s: %w", p.Role, what, services.ErrForbidden)
	}
	return p, err
}

// participants are the roles that read enrolments and record on them what their role allows.
var participants = []auth.Role{auth.RoleAdmin, auth.RoleAgent, auth.RolePartner}

// caseworkers are the roles that enrol people and record every fact of an enrolment.
var caseworkers = []auth.Role{auth.RoleAdmin, auth.RoleAgent}
