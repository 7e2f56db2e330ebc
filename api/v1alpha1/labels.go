package v1alpha1

// Labels and annotations Ferry puts on its objects, to list and order them.
const (
	// LabelApplication names the Application a Release or Promotion belongs to.
	LabelApplication = "ferry.dev/application"
	// LabelRelease names the Release a Promotion carries.
	LabelRelease = "ferry.dev/release"
	// LabelStage names the stage a Promotion goes to.
	LabelStage = "ferry.dev/stage"
	// LabelPromotion, LabelStep and LabelHook mark the Jobs a Promotion's hooks run, and
	// the Secrets that keep their logs.
	LabelPromotion = "ferry.dev/promotion"
	LabelStep      = "ferry.dev/step"
	LabelHook      = "ferry.dev/hook"
	// AnnotationVersion is the Release's version on its Promotions (versions may hold
	// characters labels cannot).
	AnnotationVersion = "ferry.dev/version"
	// AnnotationCreatedBy is who created a Release, as the API server named them to
	// `ferry release`.
	AnnotationCreatedBy = "ferry.dev/created-by"
	// AnnotationSlackThread keeps, on a Release, the Slack thread its delivery is told
	// in: CHANNEL/TS, one annotation per notifier (suffixed with its name).
	AnnotationSlackThread = "ferry.dev/slack-thread-"
	// AnnotationNotifyWebhooks marks a Promotion whose app file names webhooks
	// (notify.webhooks): its events are kept in its outbox for them even when the
	// controller has no event sinks of its own.
	AnnotationNotifyWebhooks = "ferry.dev/notify-webhooks"
	// AnnotationFirstStage marks the Promotion into the first stage of its Release's
	// path, whose events begin with the Release's creation.
	AnnotationFirstStage = "ferry.dev/first-stage"
	// AnnotationCheckRequested on an ImageWatch asks for a poll of its repository now
	// (a registry told `ferry server` of a push); its value is the time of the request.
	AnnotationCheckRequested = "ferry.dev/check-requested"
	// FinalizerAbortOnDelete keeps a Promotion that deploys a canary, an A/B test or a
	// blue-green release until it has finished: deleted before, it aborts and rolls
	// back as `ferry abort` asks, so that no Deployment stays held for a canary nobody
	// drives.
	FinalizerAbortOnDelete = "ferry.dev/abort-on-delete"
)
