package api

import "github.com/gin-gonic/gin"

// registerImports adds the routes of this capability (being written).
func registerImports(v1 *gin.RouterGroup, d Deps) {}
