"""The local S3 server's presigned-link window, as MinIO and AWS enforce it."""

from datetime import UTC, datetime

from prichal_localrun.s3app import presigned_window_error

SIGNED = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261122T100000Z&X-Amz-Expires=600&X-Amz-Signature=ab"


def test_a_link_works_within_its_window_and_not_after():
    assert presigned_window_error(SIGNED, datetime(2026, 11, 22, 10, 10, 0, tzinfo=UTC)) is None
    status, code, message = presigned_window_error(SIGNED, datetime(2026, 11, 22, 10, 10, 1, tzinfo=UTC))
    assert (status, code, message) == ("403 Forbidden", "AccessDenied", "Request has expired")


def test_requests_that_are_not_presigned_pass_untouched():
    assert presigned_window_error("", datetime.now(UTC)) is None
    assert presigned_window_error("list-type=2&prefix=tenants/", datetime.now(UTC)) is None


def test_a_malformed_or_too_long_window_is_refused():
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert presigned_window_error("X-Amz-Expires=60&X-Amz-Date=yesterday", now)[0] == "400 Bad Request"
    assert presigned_window_error("X-Amz-Expires=60", now)[0] == "400 Bad Request"
    assert presigned_window_error("X-Amz-Expires=604801&X-Amz-Date=20261122T100000Z", now)[0] == "400 Bad Request"
