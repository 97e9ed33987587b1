// Package territories manages the social-action territories (CMS) of a département: the
// reference data agents are scoped to.
package territories

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
)

const (
	resource      = "territory"
	maxCodeLength = 32
	maxNameLength = 100
)

var codePattern = regexp.MustCompile(`^[0-9AB]{2,3}-[A-Z0-9]+(-[A-Z0-9]+)*$`)

// Territory is a territory as the service hands it out.
type Territory struct {
	Code        string
	Name        string
	Departement string
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NewTerritory is the input of Create.
type NewTerritory struct {
	Code string
	Name string
}

// Changes is the input of Update: nil fields stay as they are.
type Changes struct {
	Name *string
}

// Service reads and writes territories of the caller's département.
type Service struct {
	db *gorm.DB
}

// New returns a territory service over db.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// List returns the caller's territories ordered by code, one keyset page at a time.
func (s *Service) List(ctx context.Context, page services.PageRequest) (services.Page[Territory], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Territory]{}, err
	}
	q := services.Conn(ctx, s.db).Where("departement = ?", p.Departement)
	if len(page.After) == 1 {
		q = q.Where("code > ?", page.After[0])
	}
	var rows []models.Territory
	if err := q.Order("code").Limit(page.Limit + 1).Find(&rows).Error; err != nil {
		return services.Page[Territory]{}, fmt.Errorf("list territories: %w", err)
	}
	out := make([]Territory, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return services.PageOf(out, page.Limit, func(t Territory) []string { return []string{t.Code} }), nil
}

// Get returns the caller's territory code.
func (s *Service) Get(ctx context.Context, code string) (Territory, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Territory{}, err
	}
	row, err := find(services.Conn(ctx, s.db), p.Departement, code)
	if err != nil {
		return Territory{}, err
	}
	return fromRow(row), nil
}

// Create adds a territory to the caller's département and audits it.
func (s *Service) Create(ctx context.Context, in NewTerritory) (Territory, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Territory{}, err
	}
	in.Code = strings.TrimSpace(in.Code)
	in.Name = strings.TrimSpace(in.Name)
	var v services.Validator
	checkCode(&v, p.Departement, in.Code)
	checkName(&v, in.Name)
	if err := v.Err(); err != nil {
		return Territory{}, err
	}
	row := models.Territory{Departement: p.Departement, Code: in.Code, Name: in.Name, Version: 1}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := models.Translate(tx.Omit("ID", "CreatedAt", "UpdatedAt").Clauses(clause.Returning{}).Create(&row).Error); err != nil {
			if errors.Is(err, models.ErrDuplicate) {
				return fmt.Errorf("territory %s already exists: %w", in.Code, services.ErrConflict)
			}
			return fmt.Errorf("create territory: %w", err)
		}
		return audit.Record(ctx, tx, audit.ActionCreate, resource, row.Code)
	})
	if err != nil {
		return Territory{}, err
	}
	return fromRow(row), nil
}

// Update applies changes to the caller's territory code if it is still at expectedVersion
// (services.AnyVersion skips that check), bumps its version and audits it.
func (s *Service) Update(ctx context.Context, code string, expectedVersion int, c Changes) (Territory, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Territory{}, err
	}
	var v services.Validator
	if c.Name != nil {
		trimmed := strings.TrimSpace(*c.Name)
		c.Name = &trimmed
		checkName(&v, trimmed)
	}
	if err := v.Err(); err != nil {
		return Territory{}, err
	}
	var row models.Territory
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		row, err = find(tx.Clauses(clause.Locking{Strength: "UPDATE"}), p.Departement, code)
		if err != nil {
			return err
		}
		if err := services.CheckVersion("territory "+code, row.Version, expectedVersion); err != nil {
			return err
		}
		if c.Name != nil {
			row.Name = *c.Name
		}
		if err := services.SaveVersion(tx, &row, &row.Version, "territory "+code, map[string]any{"name": row.Name}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, resource, code)
	})
	if err != nil {
		return Territory{}, err
	}
	return fromRow(row), nil
}

func find(q *gorm.DB, departement, code string) (models.Territory, error) {
	var row models.Territory
	err := models.Translate(q.Where("departement = ? AND code = ?", departement, code).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) {
		return row, fmt.Errorf("territory %s: %w", code, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read territory %s: %w", code, err)
	}
	return row, nil
}

func checkCode(v *services.Validator, departement, code string) {
	switch {
	case code == "":
		v.Check(false, "code", "is required")
	case len(code) > maxCodeLength:
		v.Check(false, "code", fmt.Sprintf("must be at most %d characters", maxCodeLength))
	case !codePattern.MatchString(code):
		v.Check(false, "code", "must be upper-case letters and digits in dash-separated groups, e.g. "+departement+"-AGEN1")
	default:
		v.Check(strings.HasPrefix(code, departement+"-"), "code", "must start with the département code and a dash: "+departement+"-")
	}
}

func checkName(v *services.Validator, name string) {
	switch {
	case name == "":
		v.Check(false, "name", "is required")
	case utf8.RuneCountInString(name) > maxNameLength:
		v.Check(false, "name", fmt.Sprintf("must be at most %d characters", maxNameLength))
	default:
		v.Check(!strings.ContainsFunc(name, unicode.IsControl), "name", "must not contain control characters")
	}
}

func fromRow(r models.Territory) Territory {
	return Territory{
		Code: r.Code, Name: r.Name, Departement: r.Departement, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}
