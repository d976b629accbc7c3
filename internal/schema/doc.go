// Package schema holds the Assistants API objects as Go types with their exact
// JSON wire shapes, the request types that create and modify them, their
// validation against the spec's limits, and the v1 ↔ v2 translation.
//
// One set of types is used by every layer: the store persists these objects,
// the API decodes requests into and encodes responses from them.
package schema
