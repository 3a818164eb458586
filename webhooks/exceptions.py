from sendook.exceptions import Conflict, NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    message = "Webhook not found"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    message = "Delivery not found"


class UnsafeWebhookUrl(ValidationFailed):
    code = "unsafe_url"
    message = "Webhook URL refused"


class DeliveryNotRetryable(Conflict):
    code = "delivery_not_retryable"
    message = "Only a failed or dead delivery can be retried"


class WebhookDisabled(Conflict):
    code = "webhook_disabled"
    message = "The webhook is disabled; enable it first"
