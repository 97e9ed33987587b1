package cumul

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
)

// CreateAgreement records an agreement of a beneficiary the caller may see (else
// services.ErrNotFound) and audits it. Administrators and agents record agreements. The
// contract must lie within the scheme's window; overlapping agreements of a person are
// allowed with several employers, each checked alike, but not two with the same employer
// (SIRET) over overlapping dates (a *services.DuplicateError naming the first). The person's
// record is locked while the check runs, so two requests cannot both pass it.
func (s *Service) CreateAgreement(ctx context.Context, in AgreementInput) (Agreement, error) {
	p, err := caller(ctx, "record cumul agreements", caseworkers...)
	if err != nil {
		return Agreement{}, err
	}
	var v services.Validator
	in.check(&v)
	if err := v.Err(); err != nil {
		return Agreement{}, err
	}
	siret, _ := NormaliseSIRET(*in.SIRET)
	row := models.CumulAgreement{Departement: p.Departement, BeneficiaryID: *in.BeneficiaryID, Employer: *in.Employer, Siret: siret,
		Sector: *in.Sector, ContractType: *in.ContractType, StartsOn: *in.StartsOn, EndsOn: *in.EndsOn, Hours: *in.Hours, Version: 1}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := lockBeneficiary(tx, p, row.BeneficiaryID); err != nil {
			return err
		}
		if err := checkWindow(tx, p.Departement, row.StartsOn, row.EndsOn); err != nil {
			return err
		}
		if err := checkSameEmployer(tx, row); err != nil {
			return err
		}
		return services.Insert(ctx, tx, &row, &row.ID, agreementResource, "this agreement")
	})
	return agreementOf(row), err
}

// Agreement returns agreement id if the caller may see it, and audits the read.
func (s *Service) Agreement(ctx context.Context, id int64) (Agreement, error) {
	p, err := caller(ctx, "read cumul agreements", caseworkers...)
	if err != nil {
		return Agreement{}, err
	}
	return services.AuditedRead(ctx, s.db, agreementResource, id, func(tx *gorm.DB) (Agreement, error) {
		row, err := findAgreement(tx, p, id, "")
		return agreementOf(row), err
	})
}

// Agreements returns the agreements the caller may see (of one beneficiary when f says so),
// by id, one keyset page at a time, and audits the read of each one returned.
func (s *Service) Agreements(ctx context.Context, f Filter) (services.Page[Agreement], error) {
	p, err := caller(ctx, "read cumul agreements", caseworkers...)
	if err != nil {
		return services.Page[Agreement]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, f.Page)
	v.Check(f.BeneficiaryID >= 0, "beneficiary", "must be a positive id")
	if err := v.Err(); err != nil {
		return services.Page[Agreement]{}, err
	}
	var page services.Page[Agreement]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		q, err := scopeAgreements(tx, p)
		if err != nil {
			return err
		}
		if f.BeneficiaryID > 0 {
			q = q.Where("ag.beneficiary_id = ?", f.BeneficiaryID)
		}
		var rows []models.CumulAgreement
		if err := q.Where("ag.id > ?", after).Order("ag.id").Limit(f.Page.Limit + 1).Find(&rows).Error; err != nil {
			return fmt.Errorf("read cumul agreements: %w", err)
		}
		items := make([]Agreement, len(rows))
		for i, r := range rows {
			items[i] = agreementOf(r)
		}
		page, err = services.AuditedPage(ctx, tx, agreementResource, items, f.Page.Limit, func(a Agreement) int64 { return a.ID })
		return err
	})
	return page, err
}

// UpdateAgreement closes agreement id early or records (or clears) the reopening of the
// person's unemployment rights, if the agreement is still at expectedVersion; bumps its
// version and audits the change. An agreement is never extended (create another), and no
// change may leave a recorded allocation outside it: a month the agreement no longer covers,
// or one starting after the reopening (a *services.ValidationError naming the field). The
// agreement is locked, so no allocation can slip in while the change is checked.
func (s *Service) UpdateAgreement(ctx context.Context, id int64, expectedVersion int, ch AgreementChange) (Agreement, error) {
	p, err := caller(ctx, "change cumul agreements", caseworkers...)
	if err != nil {
		return Agreement{}, err
	}
	var out Agreement
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		row, err := findAgreement(tx, p, id, "UPDATE")
		if err != nil {
			return err
		}
		if err := services.CheckVersion(fmt.Sprintf("agreement %d", id), row.Version, expectedVersion); err != nil {
			return err
		}
		if err := checkChange(tx, row, ch); err != nil {
			return err
		}
		services.Set(&row.EndsOn, ch.EndsOn)
		row.UnemploymentRightsReopenedOn = reopened(row.UnemploymentRightsReopenedOn, ch)
		if err := services.SaveVersion(tx, &row, &row.Version, fmt.Sprintf("agreement %d", id), map[string]any{
			"ends_on": row.EndsOn, "unemployment_rights_reopened_on": row.UnemploymentRightsReopenedOn,
		}); err != nil {
			return err
		}
		out = agreementOf(row)
		return audit.Record(ctx, tx, audit.ActionUpdate, agreementResource, strconv.FormatInt(id, 10))
	})
	return out, err
}

// reopened is the reopening date after ch.
func reopened(current *time.Time, ch AgreementChange) *time.Time {
	switch {
	case ch.ClearReopened:
		return nil
	case ch.ReopenedOn != nil:
		return ch.ReopenedOn
	default:
		return current
	}
}

// checkChange applies the rules of a change to agreement a, naming every bad field: the end
// brought forward, not before the start nor before the last month allocated; the reopening
// not before the start nor before the first day of the last month allocated.
func checkChange(tx *gorm.DB, a models.CumulAgreement, ch AgreementChange) error {
	var last []time.Time
	if err := tx.Model(&models.CumulAllocation{}).Where("agreement_id = ?", a.ID).Order("month DESC").Limit(1).Pluck("month", &last).Error; err != nil {
		return fmt.Errorf("read the allocations of agreement %d: %w", a.ID, err)
	}
	allocated := ""
	if len(last) > 0 {
		allocated = "must not be before " + last[0].Format(time.DateOnly) + ": the month " + monthString(last[0]) + " is allocated"
	}
	starts := "must not be before starts_on (" + a.StartsOn.Format(time.DateOnly) + ")"
	var v services.Validator
	if e := ch.EndsOn; e != nil {
		checkFirst(&v, "ends_on",
			rule{e.After(a.EndsOn), "must not be after the recorded end (" + a.EndsOn.Format(time.DateOnly) + "): an agreement closes early, it is not extended"},
			rule{e.Before(a.StartsOn), starts},
			rule{len(last) > 0 && e.Before(last[0]), allocated})
	}
	if r := ch.ReopenedOn; r != nil {
		checkFirst(&v, "unemployment_rights_reopened_on", rule{r.Before(a.StartsOn), starts}, rule{len(last) > 0 && r.Before(last[0]), allocated})
	}
	return v.Err()
}

// rule is a broken rule of a field when broken, and its message.
type rule struct {
	broken  bool
	message string
}

// checkFirst records in v the first broken rule of field, if any: one message per field, the
// most telling first.
func checkFirst(v *services.Validator, field string, rules ...rule) {
	for _, r := range rules {
		if r.broken {
			v.Check(false, field, r.message)
			return
		}
	}
}

// scopeAgreements is the query of the agreements (aliased ag) p may see: its département's,
// of the beneficiaries it may see.
func scopeAgreements(tx *gorm.DB, p auth.Principal) (*gorm.DB, error) {
	visible, err := visibleBeneficiaries(tx, p)
	if err != nil {
		return nil, err
	}
	return tx.Table("cumul_agreements ag").Select("ag.*").
		Where("ag.departement = ? AND ag.beneficiary_id IN (?)", p.Departement, visible), nil
}

// findAgreement reads agreement id if p may see it (else services.ErrNotFound), locked with
// strength ("UPDATE", "SHARE"; "" for none).
func findAgreement(tx *gorm.DB, p auth.Principal, id int64, strength string) (models.CumulAgreement, error) {
	q, err := scopeAgreements(tx, p)
	if err != nil {
		return models.CumulAgreement{}, err
	}
	if strength != "" {
		q = q.Clauses(clause.Locking{Strength: strength, Table: clause.Table{Name: "ag"}})
	}
	var rows []models.CumulAgreement
	if err := q.Where("ag.id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return models.CumulAgreement{}, fmt.Errorf("read agreement %d: %w", id, err)
	}
	if len(rows) == 0 {
		return models.CumulAgreement{}, fmt.Errorf("agreement %d: %w", id, services.ErrNotFound)
	}
	return rows[0], nil
}

// lockBeneficiary locks the record of beneficiary id if p may see it (else
// services.ErrNotFound), so that the person's agreements are checked one request at a time.
func lockBeneficiary(tx *gorm.DB, p auth.Principal, id int64) error {
	visible, err := visibleBeneficiaries(tx, p)
	if err != nil {
		return err
	}
	var ids []int64
	if err := tx.Table("beneficiaries").Clauses(clause.Locking{Strength: "NO KEY UPDATE"}).
		Where("id = ? AND id IN (?)", id, visible).Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("read beneficiary %d: %w", id, err)
	}
	if len(ids) == 0 {
		return fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
	}
	return nil
}

// checkWindow refuses dates outside the scheme window of departement (or any date when it has
// no scheme), naming each bad field.
func checkWindow(tx *gorm.DB, departement string, starts, ends time.Time) error {
	scheme, err := loadScheme(tx, departement)
	if errors.Is(err, services.ErrNotFound) {
		return &services.ValidationError{Fields: []services.FieldError{{Field: "starts_on", Message: "the département has no cumul scheme to record agreements in"}}}
	}
	if err != nil {
		return err
	}
	window := fmt.Sprintf("the scheme runs from %s to %s", scheme.StartsOn.Format(time.DateOnly), scheme.EndsOn.Format(time.DateOnly))
	var v services.Validator
	v.Check(!starts.Before(scheme.StartsOn) && !starts.After(scheme.EndsOn), "starts_on", "must lie within the scheme's window: "+window)
	v.Check(!ends.Before(scheme.StartsOn) && !ends.After(scheme.EndsOn), "ends_on", "must lie within the scheme's window: "+window)
	return v.Err()
}

// checkSameEmployer refuses a second agreement of the person with the same employer over
// overlapping dates.
func checkSameEmployer(tx *gorm.DB, a models.CumulAgreement) error {
	var ids []int64
	if err := tx.Model(&models.CumulAgreement{}).Where("beneficiary_id = ? AND siret = ? AND starts_on <= ? AND ends_on >= ?",
		a.BeneficiaryID, a.Siret, a.EndsOn, a.StartsOn).Order("id").Limit(1).Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("look for overlapping agreements: %w", err)
	}
	if len(ids) > 0 {
		return &services.DuplicateError{Resource: agreementResource, ExistingID: ids[0], Reason: "an agreement of this person with the same employer (SIRET) over overlapping dates"}
	}
	return nil
}

func agreementOf(r models.CumulAgreement) Agreement {
	return Agreement{ID: r.ID, BeneficiaryID: r.BeneficiaryID, Employer: r.Employer, SIRET: r.Siret, Sector: r.Sector,
		ContractType: r.ContractType, StartsOn: r.StartsOn, EndsOn: r.EndsOn, Hours: r.Hours,
		UnemploymentRightsReopenedOn: r.UnemploymentRightsReopenedOn, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
