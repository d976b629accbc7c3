package api

import (
	"net/http"
	"strconv"

	"github.com/assistd/assistd/internal/store"
)

// listResponse is the wire shape of every list.
type listResponse[T any] struct {
	Object  string  `json:"object"`
	Data    []T     `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// parseList reads limit/order/after/before; maxLimit and defLimit differ
// only for /files.
func parseList(r *http.Request, defLimit, maxLimit int) (store.ListParams, error) {
	q := r.URL.Query()
	p := store.ListParams{Limit: defLimit, Order: store.OrderDesc, After: q.Get("after"), Before: q.Get("before")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, badRequest("limit", "Invalid 'limit': expected an integer, but got '%s' instead.", v)
		}
		if n < 1 || n > maxLimit {
			return p, badRequest("limit", "Invalid 'limit': integer out of range. Expected a value between 1 and %d, but got %d instead.", maxLimit, n)
		}
		p.Limit = n
	}
	switch o := q.Get("order"); o {
	case "":
	case store.OrderAsc, store.OrderDesc:
		p.Order = o
	default:
		return p, badRequest("order", "Invalid value: '%s'. Supported values are: 'asc' and 'desc'.", o)
	}
	return p, nil
}

// writeList renders a page, mapping each stored object through view (the
// v1/v2 rendering) and id (its id for first_id/last_id).
func writeList[T any, V any](w http.ResponseWriter, page *store.Page[T], view func(*T) V, id func(*T) string) {
	resp := listResponse[V]{Object: "list", Data: make([]V, 0, len(page.Data)), HasMore: page.HasMore}
	for i := range page.Data {
		resp.Data = append(resp.Data, view(&page.Data[i]))
	}
	if n := len(page.Data); n > 0 {
		first, last := id(&page.Data[0]), id(&page.Data[n-1])
		resp.FirstID, resp.LastID = &first, &last
	}
	writeJSON(w, http.StatusOK, resp)
}
