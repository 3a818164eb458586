from sendook.exceptions import NotFound


class EventNotFound(NotFound):
    code = "event_not_found"
    message = "Event not found"
