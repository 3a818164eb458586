from sendook.exceptions import Conflict, NotFound, Unprocessable


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "API key not found"


class DomainNotFound(NotFound):
    code = "domain_not_found"
    message = "Domain not found"


class InboxNotFound(NotFound):
    code = "inbox_not_found"
    message = "Inbox not found"


class DomainTaken(Conflict):
    code = "domain_taken"
    message = "This domain is verified by another organization"


class DomainExists(Conflict):
    code = "domain_exists"
    message = "This organization already has this domain"


class DomainInUse(Conflict):
    code = "domain_in_use"
    message = "Delete the domain's inboxes first"


class InboxAddressTaken(Conflict):
    code = "inbox_exists"
    message = "An inbox with this address already exists"


class InboxAddressReserved(Unprocessable):
    code = "inbox_address_reserved"
    message = "This address is reserved on the shared domain"


class DomainNotVerified(Unprocessable):
    code = "domain_not_verified"
    message = "The inbox's domain is not a verified domain of this organization"


class LoginExists(Conflict):
    code = "login_exists"
    message = "A login with this email already exists"


class SendingDomainNotVerified(Unprocessable):
    code = "domain_not_verified"
    message = "The inbox's domain is not verified; it cannot send until the domain verifies again"


class MemberNotFound(NotFound):
    code = "member_not_found"
    message = "Member not found"
