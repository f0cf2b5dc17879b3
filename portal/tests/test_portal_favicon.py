"""The portal answers the icon every browser asks each site for, without a login (each page
view logged a 404 in the browser's console)."""
from __future__ import annotations


def test_the_icon_is_served_without_a_login(portal_app):
    response = portal_app.test_client().get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data().startswith(b"<svg ")
