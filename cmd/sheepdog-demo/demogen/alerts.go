package demogen

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// AlertReceiver is a tiny webhook contact point: Grafana posts its alert
// notifications here and GET lists the latest, so a demo user can watch an
// alert fire without mail, chat or any service outside the stack.
type AlertReceiver struct {
	mu       sync.Mutex
	keep     int
	received []ReceivedNotification
	total    int
}

// ReceivedNotification is one webhook call as Grafana sent it.
type ReceivedNotification struct {
	ReceivedAt time.Time       `json:"receivedAt"`
	Status     string          `json:"status"` // firing or resolved
	Title      string          `json:"title,omitempty"`
	Alerts     []ReceivedAlert `json:"alerts"`
}

// ReceivedAlert is one alert instance of a notification.
type ReceivedAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Values      map[string]any    `json:"values,omitempty"`
}

// NewAlertReceiver keeps the latest keep notifications.
func NewAlertReceiver(keep int) *AlertReceiver {
	if keep < 1 {
		keep = 1
	}
	return &AlertReceiver{keep: keep}
}

const maxWebhookBody = 1 << 20

func (a *AlertReceiver) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxWebhookBody {
		http.Error(w, fmt.Sprintf("body over %d bytes", maxWebhookBody), http.StatusRequestEntityTooLarge)
		return
	}
	var n ReceivedNotification
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, "decode webhook JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if n.Status == "" {
		http.Error(w, "webhook JSON has no status: is this a Grafana/Alertmanager webhook?", http.StatusBadRequest)
		return
	}
	n.ReceivedAt = time.Now().UTC()
	a.mu.Lock()
	a.total++
	a.received = append(a.received, n)
	if len(a.received) > a.keep {
		a.received = a.received[len(a.received)-a.keep:]
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Notifications returns the kept notifications, newest last, and how many
// arrived in all.
func (a *AlertReceiver) Notifications() ([]ReceivedNotification, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ReceivedNotification(nil), a.received...), a.total
}

func (a *AlertReceiver) list(w http.ResponseWriter, _ *http.Request) {
	ns, total := a.Notifications()
	if ns == nil {
		ns = []ReceivedNotification{}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"total": total, "notifications": ns})
}
