package organisations

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
)

const referentResource = "referent"

// Referent is a person in charge of beneficiaries' pathways, in an organisation.
type Referent struct {
	ID             int64
	OrganisationID int64
	LastName       string
	FirstName      string
	Email          *string
	Phone          *string
	Active         bool
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ReferentInput creates or changes a referent; nil fields are left as they are. The
// organisation is fixed at creation.
type ReferentInput struct {
	LastName  *string
	FirstName *string
	Email     *string // "" removes it
	Phone     *string // "" removes it
	Active    *bool
}

// Validate checks the input's own rules (a create needs both names) without normalizing the
// caller's copy.
func (in ReferentInput) Validate(creating bool) error {
	var v services.Validator
	in.normalize(&v, creating)
	return v.Err()
}

// normalize applies the rules of names, phones and e-mails that beneficiaries follow, on
// copies of the given fields.
func (in *ReferentInput) normalize(v *services.Validator, creating bool) {
	in.LastName, in.FirstName, in.Email, in.Phone = trimmed(in.LastName), trimmed(in.FirstName), trimmed(in.Email), trimmed(in.Phone)
	v.Check(in.LastName != nil || !creating, "last_name", "is required")
	v.Check(in.FirstName != nil || !creating, "first_name", "is required")
	contact := beneficiaries.Input{LastName: in.LastName, FirstName: in.FirstName, Email: in.Email, Phone: in.Phone}
	contact.Normalize(v, false, time.Now().UTC())
}

// Referents returns the referents of organisation orgID, by id, one keyset page at a time,
// and audits the read. Partners read their own organisation's only (another answers 404);
// managers none.
func (s *Service) Referents(ctx context.Context, orgID int64, page services.PageRequest) (services.Page[Referent], error) {
	p, err := referentReader(ctx)
	if err != nil {
		return services.Page[Referent]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, page)
	if err := v.Err(); err != nil {
		return services.Page[Referent]{}, err
	}
	var out services.Page[Referent]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := checkOrganisation(tx, p, orgID); err != nil {
			return err
		}
		var rows []models.Referent
		if err := tx.Where("departement = ? AND organisation_id = ? AND id > ?", p.Departement, orgID, after).
			Order("id").Limit(page.Limit + 1).Find(&rows).Error; err != nil {
			return fmt.Errorf("list referents: %w", err)
		}
		items := make([]Referent, len(rows))
		for i, r := range rows {
			items[i] = referentFromRow(r)
		}
		out, err = services.AuditedPage(ctx, tx, referentResource, items, page.Limit, func(r Referent) int64 { return r.ID })
		return err
	})
	return out, err
}

// Referent returns referent id if the caller may see it, and audits the read.
func (s *Service) Referent(ctx context.Context, id int64) (Referent, error) {
	p, err := referentReader(ctx)
	if err != nil {
		return Referent{}, err
	}
	row, err := services.AuditedRead(ctx, s.db, referentResource, id, func(tx *gorm.DB) (models.Referent, error) {
		return findReferent(tx, p, id)
	})
	return referentFromRow(row), err
}

// CreateReferent adds a referent to organisation orgID and audits it.
func (s *Service) CreateReferent(ctx context.Context, orgID int64, in ReferentInput) (Referent, error) {
	p, err := admin(ctx)
	if err != nil {
		return Referent{}, err
	}
	var v services.Validator
	in.normalize(&v, true)
	if err := v.Err(); err != nil {
		return Referent{}, err
	}
	row := models.Referent{Departement: p.Departement, OrganisationID: orgID, LastName: *in.LastName, FirstName: *in.FirstName,
		Email: services.Clearable(nil, in.Email), Phone: services.Clearable(nil, in.Phone), Active: true, Version: 1}
	services.Set(&row.Active, in.Active)
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if _, err := Find(tx, p.Departement, orgID); err != nil {
			return err
		}
		return services.Insert(ctx, tx, &row, &row.ID, referentResource, "referent")
	})
	if err != nil {
		return Referent{}, err
	}
	return referentFromRow(row), nil
}

// UpdateReferent changes referent id if it is still at expectedVersion, bumps its version and
// audits it.
func (s *Service) UpdateReferent(ctx context.Context, id int64, expectedVersion int, in ReferentInput) (Referent, error) {
	p, err := admin(ctx)
	if err != nil {
		return Referent{}, err
	}
	var v services.Validator
	in.normalize(&v, false)
	if err := v.Err(); err != nil {
		return Referent{}, err
	}
	var row models.Referent
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if row, err = findReferent(tx.Clauses(clause.Locking{Strength: "UPDATE"}), p, id); err != nil {
			return err
		}
		if err := services.CheckVersion(fmt.Sprintf("referent %d", id), row.Version, expectedVersion); err != nil {
			return err
		}
		services.Set(&row.LastName, in.LastName)
		services.Set(&row.FirstName, in.FirstName)
		services.Set(&row.Active, in.Active)
		row.Email = services.Clearable(row.Email, in.Email)
		row.Phone = services.Clearable(row.Phone, in.Phone)
		if err := services.SaveVersion(tx, &row, &row.Version, fmt.Sprintf("referent %d", id), map[string]any{
			"last_name": row.LastName, "first_name": row.FirstName, "email": row.Email, "phone": row.Phone,
			"active": row.Active,
		}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, referentResource, strconv.FormatInt(id, 10))
	})
	if err != nil {
		return Referent{}, err
	}
	return referentFromRow(row), nil
}

// referentReader returns the caller if it may read referents: not managers, who see no
// person's record.
func referentReader(ctx context.Context) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && !p.HasRole(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner) {
		err = fmt.Errorf("role %s may not read referents: %w", p.Role, services.ErrForbidden)
	}
	return p, err
}

// checkOrganisation answers services.ErrNotFound unless organisation orgID is in p's
// département and, for a partner, is its own.
func checkOrganisation(tx *gorm.DB, p auth.Principal, orgID int64) error {
	if p.Role == auth.RolePartner && !ownOrganisation(p, orgID) {
		return fmt.Errorf("organisation %d: %w", orgID, services.ErrNotFound)
	}
	_, err := Find(tx, p.Departement, orgID)
	return err
}

func ownOrganisation(p auth.Principal, orgID int64) bool {
	own, ok := beneficiaries.OrganisationOf(p)
	return ok && own == orgID
}

// findReferent reads referent id through q if p may see it.
func findReferent(q *gorm.DB, p auth.Principal, id int64) (models.Referent, error) {
	var row models.Referent
	err := models.Translate(q.Where("departement = ? AND id = ?", p.Departement, id).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) || (err == nil && p.Role == auth.RolePartner && !ownOrganisation(p, row.OrganisationID)) {
		return models.Referent{}, fmt.Errorf("referent %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read referent %d: %w", id, err)
	}
	return row, nil
}

func referentFromRow(r models.Referent) Referent {
	return Referent{ID: r.ID, OrganisationID: r.OrganisationID, LastName: r.LastName, FirstName: r.FirstName,
		Email: r.Email, Phone: r.Phone, Active: r.Active, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
