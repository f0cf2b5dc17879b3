"""The host answers the icon every browser asks each site for, without a login."""
from __future__ import annotations


def test_the_icon_is_served_without_a_login_and_kept_for_a_day(make_app):
    response = make_app().test_client().get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data().startswith(b"<svg ")
    assert "max-age=86400" in response.headers["Cache-Control"]
