package webhookhook

import "testing"

func TestDeliveryIDIsStablePerPromotionAndHook(t *testing.T) {
	base := Payload{Hook: "smoke", Phase: "postDeploy", Promotion: "hello-prod-1-2-0", Namespace: "team-a", Attempt: 1}
	retry := base
	retry.Attempt, retry.Version = 2, "ignored"
	if base.DeliveryID() != retry.DeliveryID() {
		t.Error("a retry has a different delivery id; a receiver could not de-duplicate it")
	}
	if len(base.DeliveryID()) != 32 {
		t.Errorf("delivery id %q is not 32 hex digits", base.DeliveryID())
	}
	for name, change := range map[string]func(*Payload){
		"hook":      func(p *Payload) { p.Hook = "ticket" },
		"phase":     func(p *Payload) { p.Phase = "preDeploy" },
		"promotion": func(p *Payload) { p.Promotion = "hello-prod-1-2-1" },
		"namespace": func(p *Payload) { p.Namespace = "team-b" },
	} {
		other := base
		change(&other)
		if other.DeliveryID() == base.DeliveryID() {
			t.Errorf("another %s has the same delivery id", name)
		}
	}
}
