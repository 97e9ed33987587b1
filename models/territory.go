package models

import "time"

// Territory is a social-action territory (CMS) of a département.
type Territory struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	Code        string
	Name        string
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the SQL table of Territory.
func (Territory) TableName() string { return "territories" }
