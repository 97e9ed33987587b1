package models

import "time"

// Organisation is a structure of the pathway: a Pôle emploi agency, the département, a CCAS,
// an association, a PLIE, a mission locale.
type Organisation struct {
	ID            int64 `gorm:"primaryKey"`
	Departement   string
	Name          string
	Kind          string
	TerritoryCode *string
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName is the SQL table of Organisation.
func (Organisation) TableName() string { return "organisations" }

// Referent is the person in charge of a beneficiary's pathway, in an organisation.
type Referent struct {
	ID             int64 `gorm:"primaryKey"`
	Departement    string
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

// TableName is the SQL table of Referent.
func (Referent) TableName() string { return "referents" }

// Beneficiary is a person receiving the rSa (BrSa). The NIR is never stored in clear.
type Beneficiary struct {
	ID                       int64 `gorm:"primaryKey"`
	Departement              string
	LastName                 string
	FirstName                string
	BirthDate                time.Time
	Payer                    string
	AllocataireNumber        string
	NIRCiphertext            []byte `gorm:"column:nir_ciphertext"`
	NIRHash                  []byte `gorm:"column:nir_hash"`
	TerritoryCode            string
	Commune                  string
	HouseholdSize            int
	RightsOpenedOn           time.Time
	SubjectToRightsAndDuties bool
	Phone                    *string
	Email                    *string
	IndependentWorker        bool
	LeavingChildWelfare      bool
	Version                  int
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

// TableName is the SQL table of Beneficiary.
func (Beneficiary) TableName() string { return "beneficiaries" }

// OrientationSession is an orientation platform session at a site.
type OrientationSession struct {
	ID                     int64 `gorm:"primaryKey"`
	Departement            string
	TerritoryCode          string
	SiteOrganisationID     int64
	StartsAt               time.Time
	Capacity               int
	EmploymentProfessional string
	SocialProfessional     string
	Version                int
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// TableName is the SQL table of OrientationSession.
func (OrientationSession) TableName() string { return "orientation_sessions" }

// Convocation invites a beneficiary to a session and records the attendance and catch-up.
type Convocation struct {
	ID              int64 `gorm:"primaryKey"`
	Departement     string
	SessionID       int64
	BeneficiaryID   int64
	SentOn          time.Time
	Attendance      *string
	CatchUpOn       *time.Time
	CatchUpAttended *bool
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName is the SQL table of Convocation.
func (Convocation) TableName() string { return "convocations" }

// FormalNotice is the mise en demeure sent after an unexcused absence.
type FormalNotice struct {
	ID               int64 `gorm:"primaryKey"`
	Departement      string
	ConvocationID    int64
	BeneficiaryID    int64
	IssuedOn         time.Time
	ResponseDeadline time.Time
	Outcome          *string
	Version          int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName is the SQL table of FormalNotice.
func (FormalNotice) TableName() string { return "formal_notices" }

// Orientation is an orientation decision; the latest one is current, earlier ones are kept.
type Orientation struct {
	ID             int64 `gorm:"primaryKey"`
	Departement    string
	BeneficiaryID  int64
	Route          string
	OrganisationID int64
	ReferentID     *int64
	DecidedOn      time.Time
	NotifiedOn     *time.Time
	Origin         string
	ConvocationID  *int64
	Current        bool
	SupersededOn   *time.Time
	CreatedAt      time.Time
}

// TableName is the SQL table of Orientation.
func (Orientation) TableName() string { return "orientations" }
