package api

import "github.com/gin-gonic/gin"

// registerAccruals adds the routes of this capability (being written).
func registerAccruals(v1 *gin.RouterGroup, d Deps) {}
