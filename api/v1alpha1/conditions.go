package v1alpha1

// Condition types every Ferry object reports.
const (
	// ConditionReady is True when the object is in the state its spec asks for.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the controller is working towards that state.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the controller cannot go on without a change to the
	// spec (an invalid app file, an unknown stage).
	ConditionStalled = "Stalled"
)

// Condition reasons.
const (
	// ReasonSucceeded: the object reached its desired state.
	ReasonSucceeded = "Succeeded"
	// ReasonProgressing: work is under way.
	ReasonProgressing = "Progressing"
	// ReasonInvalidSpec: the spec cannot be acted on; the message says why and where.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonWaitingApproval: a Promotion waits for approvals.
	ReasonWaitingApproval = "WaitingApproval"
	// ReasonFailed: a step failed; the message names it.
	ReasonFailed = "Failed"
	// ReasonUnreachable: a target cluster or registry cannot be reached.
	ReasonUnreachable = "Unreachable"
)
