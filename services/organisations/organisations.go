// Package organisations manages the structures of the pathway — Pôle emploi agencies, the
// département's services, CCAS, associations, PLIE, missions locales — and their referents,
// the people in charge of beneficiaries' pathways.
package organisations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

const (
	resource     = "organisation"
	maxNameRunes = 200
)

// Kinds of organisation.
var Kinds = []string{"pole_emploi", "departement", "ccas", "association", "plie", "mission_locale", "other"}

// Organisation is an organisation as the service hands it out.
type Organisation struct {
	ID            int64
	Name          string
	Kind          string
	TerritoryCode *string
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Input creates or changes an organisation; nil fields are left as they are.
type Input struct {
	Name          *string
	Kind          *string
	TerritoryCode *string // "" removes it
}

// Validate checks the input's own rules (a create needs a name and a kind) without
// normalizing the caller's copy.
func (in Input) Validate(creating bool) error {
	var v services.Validator
	in.normalize(&v, creating)
	return v.Err()
}

// normalize trims the fields in place (the pointed-to values are copied first) and records
// every broken rule in v.
func (in *Input) normalize(v *services.Validator, creating bool) {
	in.Name, in.Kind, in.TerritoryCode = trimmed(in.Name), trimmed(in.Kind), trimmed(in.TerritoryCode)
	if in.Name != nil || creating {
		services.CheckText(v, "name", in.Name, maxNameRunes)
	}
	if in.Kind != nil || creating {
		v.Check(in.Kind != nil && slices.Contains(Kinds, *in.Kind), "kind", "must be one of "+strings.Join(Kinds, ", "))
	}
	if in.TerritoryCode != nil {
		*in.TerritoryCode = strings.ToUpper(*in.TerritoryCode)
	}
}

// Filter narrows List.
type Filter struct {
	Kind string // one of Kinds, or "" for all
	Page services.PageRequest
}

// Service reads and writes organisations and referents of the caller's département.
type Service struct {
	db *gorm.DB
}

// New returns an organisation service over db.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// List returns the caller's organisations by id, one keyset page at a time. Every role may
// read them: they are reference data, not people.
func (s *Service) List(ctx context.Context, f Filter) (services.Page[Organisation], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Organisation]{}, err
	}
	var v services.Validator
	v.Check(f.Kind == "" || slices.Contains(Kinds, f.Kind), "kind", "must be one of "+strings.Join(Kinds, ", "))
	after := services.AfterID(&v, f.Page)
	if err := v.Err(); err != nil {
		return services.Page[Organisation]{}, err
	}
	q := services.Conn(ctx, s.db).Where("departement = ? AND id > ?", p.Departement, after)
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	var rows []models.Organisation
	if err := q.Order("id").Limit(f.Page.Limit + 1).Find(&rows).Error; err != nil {
		return services.Page[Organisation]{}, fmt.Errorf("list organisations: %w", err)
	}
	out := make([]Organisation, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return services.PageOf(out, f.Page.Limit, func(o Organisation) []string { return []string{strconv.FormatInt(o.ID, 10)} }), nil
}

// Get returns organisation id of the caller's département.
func (s *Service) Get(ctx context.Context, id int64) (Organisation, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Organisation{}, err
	}
	row, err := Find(services.Conn(ctx, s.db), p.Departement, id)
	if err != nil {
		return Organisation{}, err
	}
	return fromRow(row), nil
}

// Create adds an organisation and audits it. A name already taken in the département is a
// *services.DuplicateError naming the existing organisation.
func (s *Service) Create(ctx context.Context, in Input) (Organisation, error) {
	p, err := admin(ctx)
	if err != nil {
		return Organisation{}, err
	}
	var v services.Validator
	in.normalize(&v, true)
	if err := v.Err(); err != nil {
		return Organisation{}, err
	}
	row := models.Organisation{Departement: p.Departement, Name: *in.Name, Kind: *in.Kind, Version: 1}
	row.TerritoryCode = services.Clearable(row.TerritoryCode, in.TerritoryCode)
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := s.checkRow(tx, row); err != nil {
			return err
		}
		return services.Insert(ctx, tx, &row, &row.ID, resource, "organisation "+row.Name)
	})
	if err != nil {
		return Organisation{}, err
	}
	return fromRow(row), nil
}

// Update changes organisation id if it is still at expectedVersion (services.AnyVersion skips
// the check), bumps its version and audits it.
func (s *Service) Update(ctx context.Context, id int64, expectedVersion int, in Input) (Organisation, error) {
	p, err := admin(ctx)
	if err != nil {
		return Organisation{}, err
	}
	var v services.Validator
	in.normalize(&v, false)
	if err := v.Err(); err != nil {
		return Organisation{}, err
	}
	var row models.Organisation
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if row, err = Find(tx.Clauses(clause.Locking{Strength: "UPDATE"}), p.Departement, id); err != nil {
			return err
		}
		if err := services.CheckVersion(fmt.Sprintf("organisation %d", id), row.Version, expectedVersion); err != nil {
			return err
		}
		services.Set(&row.Name, in.Name)
		services.Set(&row.Kind, in.Kind)
		row.TerritoryCode = services.Clearable(row.TerritoryCode, in.TerritoryCode)
		if err := s.checkRow(tx, row); err != nil {
			return err
		}
		if err := services.SaveVersion(tx, &row, &row.Version, fmt.Sprintf("organisation %d", id), map[string]any{
			"name": row.Name, "kind": row.Kind, "territory_code": row.TerritoryCode,
		}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, resource, strconv.FormatInt(id, 10))
	})
	if err != nil {
		return Organisation{}, err
	}
	return fromRow(row), nil
}

// checkRow refuses a name another organisation of the département has (a duplicate) and a
// territory the département does not have (a validation error).
func (s *Service) checkRow(tx *gorm.DB, row models.Organisation) error {
	var ids []int64
	if err := tx.Model(&models.Organisation{}).Where("departement = ? AND name = ? AND id <> ?", row.Departement, row.Name, row.ID).
		Limit(1).Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("look for duplicate organisations: %w", err)
	}
	if len(ids) > 0 {
		return &services.DuplicateError{Resource: resource, ExistingID: ids[0], Reason: "same name"}
	}
	if row.TerritoryCode == nil {
		return nil
	}
	var n int64
	if err := tx.Model(&models.Territory{}).Where("departement = ? AND code = ?", row.Departement, *row.TerritoryCode).Count(&n).Error; err != nil {
		return fmt.Errorf("look for territory %s: %w", *row.TerritoryCode, err)
	}
	if n == 0 {
		return &services.ValidationError{Fields: []services.FieldError{{Field: "territory_code", Message: "no territory " + *row.TerritoryCode}}}
	}
	return nil
}

// Find reads organisation id of departement through q (which may carry a lock); a missing one
// is services.ErrNotFound.
func Find(q *gorm.DB, departement string, id int64) (models.Organisation, error) {
	var row models.Organisation
	err := models.Translate(q.Where("departement = ? AND id = ?", departement, id).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) {
		return row, fmt.Errorf("organisation %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read organisation %d: %w", id, err)
	}
	return row, nil
}

// admin returns the caller if it is an administrator: only they write reference data.
func admin(ctx context.Context) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && p.Role != auth.RoleAdmin {
		err = fmt.Errorf("role %s may not write organisations or referents: %w", p.Role, services.ErrForbidden)
	}
	return p, err
}

func fromRow(r models.Organisation) Organisation {
	return Organisation{ID: r.ID, Name: r.Name, Kind: r.Kind, TerritoryCode: r.TerritoryCode, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// trimmed returns a trimmed copy of *s, nil for nil.
func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}
