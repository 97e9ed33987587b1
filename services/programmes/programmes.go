// Package programmes manages the catalogue of accompaniment programmes (dispositifs): each is
// tied to a fiche action, provided by organisations, and carries the rules the source document
// states — unit costs, the longest period and renewals, and the capacity.
package programmes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

const resource = "programme"

// Programme is a programme as the service hands it out, with its providing organisations (by
// id) and its unit costs (by basis, then event).
type Programme struct {
	ID              int64
	Code            string
	Name            string
	ActionCode      string
	OrganisationIDs []int64
	UnitCosts       []UnitCost
	MaxMonths       *int
	MaxRenewals     int
	Capacity        *int
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Filter narrows List.
type Filter struct {
	Action string // a fiche code, or "" for all
	Page   services.PageRequest
}

// Service reads and writes the programmes of the caller's département.
type Service struct {
	db *gorm.DB
}

// New returns a programme service over db.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// List returns the caller's programmes by code, one keyset page at a time. Every role reads
// them: they are reference data.
func (s *Service) List(ctx context.Context, f Filter) (services.Page[Programme], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Programme]{}, err
	}
	var v services.Validator
	v.Check(f.Action == "" || fichePattern.MatchString(f.Action), "action", `must be a fiche action code such as "4.2"`)
	v.Check(len(f.Page.After) <= 1, "cursor", "is not a cursor this API returned")
	if err := v.Err(); err != nil {
		return services.Page[Programme]{}, err
	}
	q := services.Conn(ctx, s.db).Where("departement = ?", p.Departement)
	if f.Action != "" {
		q = q.Where("action_code = ?", f.Action)
	}
	if len(f.Page.After) == 1 {
		q = q.Where("code > ?", f.Page.After[0])
	}
	var rows []models.Programme
	if err := q.Order("code").Limit(f.Page.Limit + 1).Find(&rows).Error; err != nil {
		return services.Page[Programme]{}, fmt.Errorf("list programmes: %w", err)
	}
	out, err := withDetails(services.Conn(ctx, s.db), rows)
	if err != nil {
		return services.Page[Programme]{}, err
	}
	return services.PageOf(out, f.Page.Limit, func(pr Programme) []string { return []string{pr.Code} }), nil
}

// Get returns the caller's programme code.
func (s *Service) Get(ctx context.Context, code string) (Programme, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Programme{}, err
	}
	conn := services.Conn(ctx, s.db)
	row, err := Find(conn, p.Departement, code)
	if err != nil {
		return Programme{}, err
	}
	return one(conn, row)
}

// Create adds a programme and audits it. A code already taken is a services.ErrConflict; an
// unknown fiche or organisation a *services.ValidationError naming the field.
func (s *Service) Create(ctx context.Context, in Input) (Programme, error) {
	p, err := admin(ctx)
	if err != nil {
		return Programme{}, err
	}
	var v services.Validator
	in.normalize(&v, true)
	if err := v.Err(); err != nil {
		return Programme{}, err
	}
	row := models.Programme{Departement: p.Departement, Code: *in.Code, Version: 1}
	apply(&row, in)
	var out Programme
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := checkReferences(tx, p.Departement, in); err != nil {
			return err
		}
		if err := insert(ctx, tx, &row); err != nil {
			return err
		}
		if err := replaceDetails(tx, row.ID, in); err != nil {
			return err
		}
		got, err := one(tx, row)
		out = got
		return err
	})
	return out, err
}

// Update changes programme code if it is still at expectedVersion (services.AnyVersion skips
// the check), bumps its version and audits it.
func (s *Service) Update(ctx context.Context, code string, expectedVersion int, in Input) (Programme, error) {
	p, err := admin(ctx)
	if err != nil {
		return Programme{}, err
	}
	var v services.Validator
	in.normalize(&v, false)
	if err := v.Err(); err != nil {
		return Programme{}, err
	}
	var out Programme
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		row, err := Find(tx.Clauses(clause.Locking{Strength: "UPDATE"}), p.Departement, code)
		if err != nil {
			return err
		}
		if err := services.CheckVersion("programme "+code, row.Version, expectedVersion); err != nil {
			return err
		}
		if err := checkReferences(tx, p.Departement, in); err != nil {
			return err
		}
		apply(&row, in)
		if err := services.SaveVersion(tx, &row, &row.Version, "programme "+code, map[string]any{
			"name": row.Name, "action_code": row.ActionCode, "max_months": row.MaxMonths, "max_renewals": row.MaxRenewals,
			"capacity": row.Capacity,
		}); err != nil {
			return err
		}
		if err := replaceDetails(tx, row.ID, in); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.ActionUpdate, resource, code); err != nil {
			return err
		}
		out, err = one(tx, row)
		return err
	})
	return out, err
}

// Find reads programme code of departement through q (which may carry a lock); a missing one
// is services.ErrNotFound.
func Find(q *gorm.DB, departement, code string) (models.Programme, error) {
	var row models.Programme
	err := models.Translate(q.Where("departement = ? AND code = ?", departement, code).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) {
		return row, fmt.Errorf("programme %s: %w", code, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read programme %s: %w", code, err)
	}
	return row, nil
}

// Provides reports whether organisation org provides programme id.
func Provides(tx *gorm.DB, id, org int64) (bool, error) {
	var n int64
	err := tx.Model(&models.ProgrammeOrganisation{}).Where("programme_id = ? AND organisation_id = ?", id, org).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("read the organisations of programme %d: %w", id, err)
	}
	return n > 0, nil
}

// CostsEvent reports whether programme id has a per_event unit cost for event.
func CostsEvent(tx *gorm.DB, id int64, event string) (bool, error) {
	var n int64
	err := tx.Model(&models.ProgrammeUnitCost{}).Where("programme_id = ? AND basis = ? AND event = ?", id, BasisPerEvent, event).
		Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("read the unit costs of programme %d: %w", id, err)
	}
	return n > 0, nil
}

// apply copies the given fields of in onto row; a limit at 0 becomes NULL.
func apply(row *models.Programme, in Input) {
	services.Set(&row.Name, in.Name)
	services.Set(&row.ActionCode, in.ActionCode)
	services.Set(&row.MaxRenewals, in.MaxRenewals)
	row.MaxMonths = limit(row.MaxMonths, in.MaxMonths)
	row.Capacity = limit(row.Capacity, in.Capacity)
}

// limit applies an optional change to a nullable limit: nil keeps current, 0 removes it.
func limit(current, change *int) *int {
	switch {
	case change == nil:
		return current
	case *change == 0:
		return nil
	default:
		n := *change
		return &n
	}
}

func insert(ctx context.Context, tx *gorm.DB, row *models.Programme) error {
	err := models.Translate(tx.Omit("ID", "CreatedAt", "UpdatedAt").Clauses(clause.Returning{}).Create(row).Error)
	if errors.Is(err, models.ErrDuplicate) {
		return fmt.Errorf("programme %s already exists: %w", row.Code, services.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create programme %s: %w", row.Code, err)
	}
	return audit.Record(ctx, tx, audit.ActionCreate, resource, row.Code)
}

// checkReferences checks, naming each bad field, that the fiche is one of the département's
// (in any year) and that the organisations exist in it.
func checkReferences(tx *gorm.DB, departement string, in Input) error {
	var v services.Validator
	if in.ActionCode != nil {
		var n int64
		if err := tx.Table("actions").Where("departement = ? AND code = ?", departement, *in.ActionCode).Count(&n).Error; err != nil {
			return fmt.Errorf("look for fiche %s: %w", *in.ActionCode, err)
		}
		v.Check(n > 0, "action_code", "no fiche action "+*in.ActionCode+" in the département's conventions")
	}
	if in.OrganisationIDs != nil {
		var found []int64
		if err := tx.Model(&models.Organisation{}).Where("departement = ? AND id IN ?", departement, *in.OrganisationIDs).
			Pluck("id", &found).Error; err != nil {
			return fmt.Errorf("look for organisations: %w", err)
		}
		for _, id := range *in.OrganisationIDs {
			v.Check(slices.Contains(found, id), "organisation_ids", fmt.Sprintf("no organisation %d", id))
		}
	}
	return v.Err()
}

// replaceDetails replaces the organisations and unit costs of programme id with those of in,
// for each set it gives (a nil set stays as it is).
func replaceDetails(tx *gorm.DB, id int64, in Input) error {
	if in.OrganisationIDs != nil {
		if err := tx.Where("programme_id = ?", id).Delete(&models.ProgrammeOrganisation{}).Error; err != nil {
			return fmt.Errorf("replace the organisations of programme %d: %w", id, err)
		}
		links := make([]models.ProgrammeOrganisation, len(*in.OrganisationIDs))
		for i, org := range *in.OrganisationIDs {
			links[i] = models.ProgrammeOrganisation{ProgrammeID: id, OrganisationID: org}
		}
		if err := tx.Create(&links).Error; err != nil {
			return fmt.Errorf("link the organisations of programme %d: %w", id, err)
		}
	}
	if in.UnitCosts == nil {
		return nil
	}
	if err := tx.Where("programme_id = ?", id).Delete(&models.ProgrammeUnitCost{}).Error; err != nil {
		return fmt.Errorf("replace the unit costs of programme %d: %w", id, err)
	}
	if len(*in.UnitCosts) == 0 {
		return nil
	}
	costs := make([]models.ProgrammeUnitCost, len(*in.UnitCosts))
	for i, c := range *in.UnitCosts {
		costs[i] = models.ProgrammeUnitCost{ProgrammeID: id, Basis: c.Basis, Event: c.Event, Amount: c.Amount}
	}
	if err := tx.Omit("ID").Create(&costs).Error; err != nil {
		return fmt.Errorf("record the unit costs of programme %d: %w", id, err)
	}
	return nil
}

// one returns row with its organisations and unit costs.
func one(tx *gorm.DB, row models.Programme) (Programme, error) {
	out, err := withDetails(tx, []models.Programme{row})
	if err != nil {
		return Programme{}, err
	}
	return out[0], nil
}

// withDetails reads the organisations and unit costs of rows, in two queries.
func withDetails(tx *gorm.DB, rows []models.Programme) ([]Programme, error) {
	if len(rows) == 0 {
		return []Programme{}, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var links []models.ProgrammeOrganisation
	if err := tx.Where("programme_id IN ?", ids).Order("programme_id, organisation_id").Find(&links).Error; err != nil {
		return nil, fmt.Errorf("read the organisations of programmes: %w", err)
	}
	var costs []models.ProgrammeUnitCost
	if err := tx.Where("programme_id IN ?", ids).Order("programme_id, basis, event").Find(&costs).Error; err != nil {
		return nil, fmt.Errorf("read the unit costs of programmes: %w", err)
	}
	out := make([]Programme, len(rows))
	index := map[int64]int{}
	for i, r := range rows {
		out[i] = fromRow(r)
		index[r.ID] = i
	}
	for _, l := range links {
		pr := &out[index[l.ProgrammeID]]
		pr.OrganisationIDs = append(pr.OrganisationIDs, l.OrganisationID)
	}
	for _, c := range costs {
		pr := &out[index[c.ProgrammeID]]
		pr.UnitCosts = append(pr.UnitCosts, UnitCost{Basis: c.Basis, Event: c.Event, Amount: c.Amount})
	}
	return out, nil
}

// admin returns the caller if it is an administrator: only they write the catalogue.
func admin(ctx context.Context) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && p.Role != auth.RoleAdmin {
		err = fmt.Errorf("role %s may not write programmes: %w", p.Role, services.ErrForbidden)
	}
	return p, err
}

func fromRow(r models.Programme) Programme {
	return Programme{ID: r.ID, Code: r.Code, Name: r.Name, ActionCode: r.ActionCode, OrganisationIDs: []int64{},
		UnitCosts: []UnitCost{}, MaxMonths: r.MaxMonths, MaxRenewals: r.MaxRenewals, Capacity: r.Capacity,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
