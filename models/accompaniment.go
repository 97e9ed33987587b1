package models

import (
	"time"

	"github.com/shopspring/decimal"
)

// Programme is an accompaniment offer tied to a fiche action, with its duration rules and
// capacity.
type Programme struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	Code        string
	Name        string
	ActionCode  string
	MaxMonths   *int
	MaxRenewals int
	Capacity    *int
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the SQL table of Programme.
func (Programme) TableName() string { return "programmes" }

// ProgrammeOrganisation links a programme to an organisation providing it.
type ProgrammeOrganisation struct {
	ProgrammeID    int64 `gorm:"primaryKey"`
	OrganisationID int64 `gorm:"primaryKey"`
}

// TableName is the SQL table of ProgrammeOrganisation.
func (ProgrammeOrganisation) TableName() string { return "programme_organisations" }

// ProgrammeUnitCost is what a programme costs per event, per month or per enrolment.
type ProgrammeUnitCost struct {
	ID          int64 `gorm:"primaryKey"`
	ProgrammeID int64
	Basis       string
	Event       string
	Amount      decimal.Decimal
}

// TableName is the SQL table of ProgrammeUnitCost.
func (ProgrammeUnitCost) TableName() string { return "programme_unit_costs" }

// Enrolment is a beneficiary in a programme, from its start to its exit.
type Enrolment struct {
	ID                 int64 `gorm:"primaryKey"`
	Departement        string
	BeneficiaryID      int64
	ProgrammeID        int64
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

// TableName is the SQL table of Enrolment.
func (Enrolment) TableName() string { return "enrolments" }

// EnrolmentEvent is a costed event of an enrolment (a diagnostic interview, an evaluation…).
type EnrolmentEvent struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	EnrolmentID int64
	Event       string
	OccurredOn  time.Time
	CreatedAt   time.Time
}

// TableName is the SQL table of EnrolmentEvent.
func (EnrolmentEvent) TableName() string { return "enrolment_events" }

// Contract is a CER (contrat d'engagement réciproque), a CER for an independent worker, or a
// PPAE (projet personnalisé d'accès à l'emploi).
type Contract struct {
	ID            int64 `gorm:"primaryKey"`
	Departement   string
	EnrolmentID   int64
	BeneficiaryID int64
	Type          string
	SignedOn      time.Time
	StartsOn      time.Time
	EndsOn        time.Time
	CreatedAt     time.Time
}

// TableName is the SQL table of Contract.
func (Contract) TableName() string { return "contracts" }
