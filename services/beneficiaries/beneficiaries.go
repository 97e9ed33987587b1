// Package beneficiaries manages the people on the rSa (BrSa): their record, its protected NIR,
// who may see it (Visible), and the list social workers work from.
package beneficiaries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/pii"
)

const resource = "beneficiary"

// Statuses of a beneficiary on the orientation pathway.
const (
	StatusToOrient = "to_orient" // neither convoked nor oriented
	StatusConvoked = "convoked"  // convoked, not yet oriented
	StatusOriented = "oriented"  // has an orientation decision
)

// statusSQL computes the status of the beneficiary aliased b.
const statusSQL = `CASE
	WHEN EXISTS (SELECT 1 FROM orientations o WHERE o.beneficiary_id = b.id) THEN 'oriented'
	WHEN EXISTS (SELECT 1 FROM convocations c WHERE c.beneficiary_id = b.id) THEN 'convoked'
	ELSE 'to_orient' END`

// Beneficiary is a beneficiary as the caller may see it: NIR is nil for callers who may not
// read NIRs, and when none is recorded.
type Beneficiary struct {
	ID                       int64
	LastName                 string
	FirstName                string
	BirthDate                time.Time
	Payer                    string
	AllocataireNumber        string
	NIR                      *string
	TerritoryCode            string
	Commune                  string
	HouseholdSize            int
	RightsOpenedOn           time.Time
	SubjectToRightsAndDuties bool
	Phone                    *string
	Email                    *string
	IndependentWorker        bool
	LeavingChildWelfare      bool
	Status                   string
	Version                  int
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

// Filter narrows List.
type Filter struct {
	Territory   string // a territory code; "" for all the caller may see
	Status      string // StatusToOrient, StatusConvoked, StatusOriented or ""
	OverdueDays *int   // not oriented this many days after the rights opened
	Page        services.PageRequest
}

// Service reads and writes beneficiaries.
type Service struct {
	db     *gorm.DB
	cipher *pii.Cipher
	now    func() time.Time
}

// New returns a beneficiary service; cipher protects the NIRs.
func New(db *gorm.DB, cipher *pii.Cipher) *Service {
	return &Service{db: db, cipher: cipher, now: time.Now}
}

// Today is the current calendar date at midnight UTC, the bound of input dates.
func (s *Service) Today() time.Time {
	y, m, d := s.now().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Create records a beneficiary and audits the creation, once: the record it returns is read in
// the same transaction and not audited again. The same person twice (same payer and
// allocataire number, or same NIR) is a *services.DuplicateError naming the existing id.
func (s *Service) Create(ctx context.Context, in Input) (Beneficiary, error) {
	p, err := writer(ctx)
	if err != nil {
		return Beneficiary{}, err
	}
	var v services.Validator
	in.Normalize(&v, true, s.Today())
	if err := v.Err(); err != nil {
		return Beneficiary{}, err
	}
	if err := checkTerritory(p, *in.TerritoryCode); err != nil {
		return Beneficiary{}, err
	}
	row := models.Beneficiary{Departement: p.Departement, HouseholdSize: 1, SubjectToRightsAndDuties: true, Version: 1}
	s.apply(&row, in)
	var out Beneficiary
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := s.checkDuplicate(tx, row, 0); err != nil {
			return err
		}
		if err := requireTerritory(tx, p.Departement, row.TerritoryCode); err != nil {
			return err
		}
		if err := models.Translate(tx.Omit("CreatedAt", "UpdatedAt").Clauses(clause.Returning{}).Create(&row).Error); err != nil {
			if errors.Is(err, models.ErrDuplicate) {
				return s.checkDuplicate(tx, row, 0) // lost a race: name the winner
			}
			return fmt.Errorf("create beneficiary: %w", err)
		}
		if out, err = s.find(tx, p, row.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionCreate, resource, strconv.FormatInt(row.ID, 10))
	})
	return out, err
}

// Get returns beneficiary id if the caller may see it (else services.ErrNotFound), and
// audits the read: one statement, one round trip, reads the record and writes the audit row
// of its read, both or neither. The audit row stands even when decrypting the NIR then fails
// (a 500): the record did leave the database. The statement is built here and sent without
// gorm (services.QueryRow).
func (s *Service) Get(ctx context.Context, id int64) (Beneficiary, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Beneficiary{}, err
	}
	ev, err := audit.Event(ctx, audit.ActionRead, resource, strconv.FormatInt(id, 10))
	if err != nil {
		return Beneficiary{}, err
	}
	visible, args, err := VisibleSQL(p, 9)
	if err != nil {
		return Beneficiary{}, err
	}
	read := `WITH found AS (SELECT ` + rowColumns + ` FROM beneficiaries b WHERE b.id = $1 AND ` + visible + `),
		audited AS (INSERT INTO audit_events (` + audit.Columns + `) SELECT $2, $3, $4, $5, $6, $7, $8 FROM found)
		SELECT * FROM found`
	args = append(append([]any{id}, audit.Values(ev)...), args...)
	var out Beneficiary
	err = services.QueryRow(ctx, s.db, read, args, func(found services.Row) error {
		var r row
		err := found.Scan(r.fields()...)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read beneficiary %d: %w", id, err)
		}
		out, err = s.present(p, r)
		return err
	})
	return out, err
}

// find reads beneficiary id as p may see it (else services.ErrNotFound), without auditing:
// the caller audits what it does with it, in tx.
func (s *Service) find(tx *gorm.DB, p auth.Principal, id int64) (Beneficiary, error) {
	rows, err := s.query(tx, p, func(q *gorm.DB) *gorm.DB { return q.Where("b.id = ?", id) })
	if err != nil {
		return Beneficiary{}, err
	}
	if len(rows) == 0 {
		return Beneficiary{}, fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
	}
	return s.present(p, rows[0])
}

// Update changes beneficiary id if the caller may see it and it is still at expectedVersion,
// and audits the change, once: the record it returns is read in the same transaction.
func (s *Service) Update(ctx context.Context, id int64, expectedVersion int, in Input) (Beneficiary, error) {
	p, err := writer(ctx)
	if err != nil {
		return Beneficiary{}, err
	}
	var v services.Validator
	in.Normalize(&v, false, s.Today())
	if err := v.Err(); err != nil {
		return Beneficiary{}, err
	}
	if in.TerritoryCode != nil {
		if err := checkTerritory(p, *in.TerritoryCode); err != nil {
			return Beneficiary{}, err
		}
	}
	var out Beneficiary
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		visible, err := Visible(tx.Table("beneficiaries b").Select("b.*").Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "b"}}), p)
		if err != nil {
			return err
		}
		var row models.Beneficiary
		err = models.Translate(visible.Where("b.id = ?", id).Take(&row).Error)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read beneficiary %d: %w", id, err)
		}
		if err := services.CheckVersion(fmt.Sprintf("beneficiary %d", id), row.Version, expectedVersion); err != nil {
			return err
		}
		if in.NIR != nil && *in.NIR != "" && in.BirthDate == nil {
			var v services.Validator
			v.Check((*in.NIR)[1:3] == row.BirthDate.Format("06"), "nir", "its year of birth (digits 2-3) differs from birth_date")
			if err := v.Err(); err != nil {
				return err
			}
		}
		s.apply(&row, in)
		if err := s.checkDuplicate(tx, row, row.ID); err != nil {
			return err
		}
		if err := requireTerritory(tx, p.Departement, row.TerritoryCode); err != nil {
			return err
		}
		row.Version++
		row.UpdatedAt = s.now()
		if err := models.Translate(tx.Table("beneficiaries").Where("id = ?", row.ID).Omit("ID", "CreatedAt").Updates(map[string]any{
			"last_name": row.LastName, "first_name": row.FirstName, "birth_date": row.BirthDate, "payer": row.Payer,
			"allocataire_number": row.AllocataireNumber, "nir_ciphertext": row.NIRCiphertext, "nir_hash": row.NIRHash,
			"territory_code": row.TerritoryCode, "commune": row.Commune, "household_size": row.HouseholdSize,
			"rights_opened_on": row.RightsOpenedOn, "subject_to_rights_and_duties": row.SubjectToRightsAndDuties,
			"phone": row.Phone, "email": row.Email, "independent_worker": row.IndependentWorker,
			"leaving_child_welfare": row.LeavingChildWelfare, "version": row.Version, "updated_at": gorm.Expr("now()"),
		}).Error); err != nil {
			return fmt.Errorf("update beneficiary %d: %w", id, err)
		}
		if out, err = s.find(tx, p, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, resource, strconv.FormatInt(id, 10))
	})
	return out, err
}

// List returns the beneficiaries the caller may see, by id, one keyset page at a time, and
// audits the read of each record returned.
func (s *Service) List(ctx context.Context, f Filter) (services.Page[Beneficiary], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Beneficiary]{}, err
	}
	var v services.Validator
	v.Check(f.Status == "" || slices.Contains([]string{StatusToOrient, StatusConvoked, StatusOriented}, f.Status),
		"status", "must be to_orient, convoked or oriented")
	v.Check(f.OverdueDays == nil || (*f.OverdueDays >= 0 && *f.OverdueDays <= 3650), "overdue_days", "must be from 0 to 3650")
	after := services.AfterID(&v, f.Page)
	if err := v.Err(); err != nil {
		return services.Page[Beneficiary]{}, err
	}
	var page services.Page[Beneficiary]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		rows, err := s.query(tx, p, func(q *gorm.DB) *gorm.DB {
			if f.Territory != "" {
				q = q.Where("b.territory_code = ?", f.Territory)
			}
			if f.Status != "" {
				q = q.Where("("+statusSQL+") = ?", f.Status)
			}
			if f.OverdueDays != nil {
				q = q.Where("NOT EXISTS (SELECT 1 FROM orientations o WHERE o.beneficiary_id = b.id)").
					Where("b.rights_opened_on < current_date - ?::int", *f.OverdueDays)
			}
			return q.Where("b.id > ?", after).Order("b.id").Limit(f.Page.Limit + 1)
		})
		if err != nil {
			return err
		}
		items := make([]Beneficiary, len(rows))
		for i, r := range rows {
			if items[i], err = s.present(p, r); err != nil {
				return err
			}
		}
		page, err = services.AuditedPage(ctx, tx, resource, items, f.Page.Limit, func(b Beneficiary) int64 { return b.ID })
		return err
	})
	return page, err
}

// row is a beneficiary with its computed status.
type row struct {
	models.Beneficiary
	Status string
}

// rowColumns are the columns of a row, over beneficiaries b, in the order of row.fields.
const rowColumns = `b.id, b.departement, b.last_name, b.first_name, b.birth_date, b.payer, b.allocataire_number,
	b.nir_ciphertext, b.nir_hash, b.territory_code, b.commune, b.household_size, b.rights_opened_on,
	b.subject_to_rights_and_duties, b.phone, b.email, b.independent_worker, b.leaving_child_welfare, b.version,
	b.created_at, b.updated_at, (` + statusSQL + `) AS status`

// fields are the destinations of rowColumns.
func (r *row) fields() []any {
	b := &r.Beneficiary
	return []any{&b.ID, &b.Departement, &b.LastName, &b.FirstName, &b.BirthDate, &b.Payer, &b.AllocataireNumber,
		&b.NIRCiphertext, &b.NIRHash, &b.TerritoryCode, &b.Commune, &b.HouseholdSize, &b.RightsOpenedOn,
		&b.SubjectToRightsAndDuties, &b.Phone, &b.Email, &b.IndependentWorker, &b.LeavingChildWelfare, &b.Version,
		&b.CreatedAt, &b.UpdatedAt, &r.Status}
}

func (s *Service) query(tx *gorm.DB, p auth.Principal, narrow func(*gorm.DB) *gorm.DB) ([]row, error) {
	q, err := Visible(tx.Table("beneficiaries b").Select(rowColumns), p)
	if err != nil {
		return nil, err
	}
	var rows []row
	if err := narrow(q).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read beneficiaries: %w", err)
	}
	return rows, nil
}

// present turns a row into what p may see, decrypting the NIR for those allowed.
func (s *Service) present(p auth.Principal, r row) (Beneficiary, error) {
	b := Beneficiary{
		ID: r.ID, LastName: r.LastName, FirstName: r.FirstName, BirthDate: r.BirthDate, Payer: r.Payer,
		AllocataireNumber: r.AllocataireNumber, TerritoryCode: r.TerritoryCode, Commune: r.Commune,
		HouseholdSize: r.HouseholdSize, RightsOpenedOn: r.RightsOpenedOn, SubjectToRightsAndDuties: r.SubjectToRightsAndDuties,
		Phone: r.Phone, Email: r.Email, IndependentWorker: r.IndependentWorker, LeavingChildWelfare: r.LeavingChildWelfare,
		Status: r.Status, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.NIRCiphertext != nil && CanSeeNIR(p) {
		nir, err := s.cipher.Open(r.Departement, r.NIRCiphertext)
		if err != nil {
			return b, fmt.Errorf("beneficiary %d: %w", r.ID, err)
		}
		b.NIR = &nir
	}
	return b, nil
}

// apply copies the given fields of in onto row, sealing the NIR.
func (s *Service) apply(row *models.Beneficiary, in Input) {
	services.Set(&row.LastName, in.LastName)
	services.Set(&row.FirstName, in.FirstName)
	services.Set(&row.BirthDate, in.BirthDate)
	services.Set(&row.Payer, in.Payer)
	services.Set(&row.AllocataireNumber, in.AllocataireNumber)
	services.Set(&row.TerritoryCode, in.TerritoryCode)
	services.Set(&row.Commune, in.Commune)
	services.Set(&row.HouseholdSize, in.HouseholdSize)
	services.Set(&row.RightsOpenedOn, in.RightsOpenedOn)
	services.Set(&row.SubjectToRightsAndDuties, in.SubjectToRightsAndDuties)
	services.Set(&row.IndependentWorker, in.IndependentWorker)
	services.Set(&row.LeavingChildWelfare, in.LeavingChildWelfare)
	row.Phone = services.Clearable(row.Phone, in.Phone)
	row.Email = services.Clearable(row.Email, in.Email)
	if in.NIR != nil {
		row.NIRCiphertext, row.NIRHash = nil, nil
		if *in.NIR != "" {
			row.NIRCiphertext = s.cipher.Seal(row.Departement, *in.NIR)
			row.NIRHash = s.cipher.Hash(row.Departement, *in.NIR)
		}
	}
}

// checkDuplicate fails with a *services.DuplicateError when another beneficiary than self has
// row's payer and allocataire number, or its NIR.
func (s *Service) checkDuplicate(tx *gorm.DB, r models.Beneficiary, self int64) error {
	var ids []int64
	err := tx.Model(&models.Beneficiary{}).Where("departement = ? AND payer = ? AND allocataire_number = ? AND id <> ?",
		r.Departement, r.Payer, r.AllocataireNumber, self).Limit(1).Pluck("id", &ids).Error
	if err != nil {
		return fmt.Errorf("look for duplicates: %w", err)
	}
	if len(ids) > 0 {
		return &services.DuplicateError{Resource: resource, ExistingID: ids[0], Reason: "same payer and allocataire number"}
	}
	if r.NIRHash == nil {
		return nil
	}
	if err := tx.Model(&models.Beneficiary{}).Where("departement = ? AND nir_hash = ? AND id <> ?", r.Departement, r.NIRHash, self).
		Limit(1).Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("look for duplicates: %w", err)
	}
	if len(ids) > 0 {
		return &services.DuplicateError{Resource: resource, ExistingID: ids[0], Reason: "same NIR"}
	}
	return nil
}

// writer returns the caller if it may write beneficiaries: administrators and agents.
func writer(ctx context.Context) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && !p.HasRole(auth.RoleAdmin, auth.RoleAgent) {
		err = fmt.Errorf("role %s may not write beneficiaries: %w", p.Role, services.ErrForbidden)
	}
	return p, err
}

// checkTerritory refuses an agent a territory outside its token.
func checkTerritory(p auth.Principal, code string) error {
	if p.Role == auth.RoleAgent && !slices.Contains(p.Territories, code) {
		return fmt.Errorf("territory %s is not one of yours: %w", code, services.ErrForbidden)
	}
	return nil
}

func requireTerritory(tx *gorm.DB, departement, code string) error {
	var n int64
	if err := tx.Model(&models.Territory{}).Where("departement = ? AND code = ?", departement, code).Count(&n).Error; err != nil {
		return fmt.Errorf("look for territory %s: %w", code, err)
	}
	if n == 0 {
		return &services.ValidationError{Fields: []services.FieldError{{Field: "territory_code", Message: "no territory " + code}}}
	}
	return nil
}
