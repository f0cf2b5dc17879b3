"""A test plugin that cannot even be imported."""
import tricoma_mail_plugin_does_not_exist  # noqa: F401
