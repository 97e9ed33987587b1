package models

import (
	"encoding/json"
	"time"
)

// OutboxEvent is one entry of the change feed: the creation or change of a convocation,
// orientation, enrolment or contract, written in the transaction that made it. XID is the
// writing transaction (SQL xid8, read as its decimal text).
type OutboxEvent struct {
	ID             int64 `gorm:"primaryKey"`
	Departement    string
	EntityType     string
	EntityID       int64
	Action         string
	BeneficiaryID  int64
	OrganisationID int64
	TerritoryCode  string
	OccurredAt     time.Time
	Payload        json.RawMessage `gorm:"type:jsonb"`
	XID            string          `gorm:"column:xid"`
}

// TableName is the SQL table of OutboxEvent.
func (OutboxEvent) TableName() string { return "outbox_events" }
