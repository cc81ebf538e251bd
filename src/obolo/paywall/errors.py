from __future__ import annotations

from obolo.errors import Forbidden, InvalidRequest, NotFound, OboloError


class NotAProvider(Forbidden):
    code = "provider_role_required"


class ProviderNotFound(NotFound):
    code = "provider_not_found"


class InvalidChannel(InvalidRequest):
    code = "invalid_channel"


class InvalidPass(InvalidRequest):
    code = "invalid_pass"


class PassNotOnSale(InvalidRequest):
    """The provider does not publish a pass on these exact terms: the platform sells only
    what the provider would honour."""

    code = "pass_not_on_sale"


class ChannelNotFound(NotFound):
    code = "channel_not_found"


class NotRefundable(OboloError):
    code = "not_refundable"


class InvalidViewReceipt(InvalidRequest):
    code = "invalid_view_receipt"


class InvalidReaccessPeriod(InvalidRequest):
    code = "invalid_reaccess_period"


class InvalidTitle(InvalidRequest):
    """An item's title the reader would be shown is not one line of text of at most
    TITLE_MAX characters."""

    code = "invalid_title"
